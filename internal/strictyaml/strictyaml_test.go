package strictyaml

import (
	"strings"
	"testing"
	"time"
)

func TestUnmarshal(t *testing.T) {
	var v struct {
		Hold Duration `json:"hold"`
	}
	if err := Unmarshal([]byte("hold: 90s\n"), &v); err != nil || time.Duration(v.Hold) != 90*time.Second {
		t.Fatalf("%v %v", v.Hold, err)
	}
	for in, want := range map[string]string{
		"":                 "empty",
		"hold: 1s\nx: 1\n": `unknown field "x"`,
		"hold: -1s\n":      "negative",
		"hold: soon\n":     `duration "soon"`,
	} {
		err := Unmarshal([]byte(in), &v)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: want one line about %q, got %v", in, want, err)
		}
	}
	if b, _ := Duration(2 * time.Minute).MarshalJSON(); string(b) != `"2m0s"` {
		t.Errorf("marshal: %s", b)
	}
}
