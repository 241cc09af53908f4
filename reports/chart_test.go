package reports

import (
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// TestEventLabelShortened: a long event (a fault's effect) is cut on the
// chart and whole in its hover title.
func TestEventLabelShortened(t *testing.T) {
	detail := "pgchaos-iofs on st-worker2 (pg-sync-1): 144 writes and 32 fsyncs delayed, 0 operations failed with ENOSPC during the fault"
	d := chartData{span: 20 * time.Second, width: 100 * time.Millisecond,
		events: []history.Event{{At: 10 * time.Second, Kind: history.EventFaultEffect, Detail: detail}}}
	svg := d.svg("c", "trial")
	if !strings.Contains(svg, "event fault-effect "+detail) {
		t.Errorf("the title does not hold the whole event")
	}
	if strings.Contains(svg, ">◆ fault-effect "+detail+"<") {
		t.Errorf("the label was not shortened")
	}
	if !strings.Contains(svg, "◆ "+shorten("fault-effect "+detail, eventLabelRunes)) {
		t.Errorf("the shortened label is missing")
	}
}
