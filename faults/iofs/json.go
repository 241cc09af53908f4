package iofs

import (
	"encoding/json"
	"fmt"
	"time"
)

// specJSON is Spec on the wire, with durations as Go duration strings
// ("50ms") so that a human can write them with curl.
type specJSON struct {
	WriteDelay   string `json:"write_delay,omitempty"`
	FsyncDelay   string `json:"fsync_delay,omitempty"`
	DelayPrefix  string `json:"delay_prefix,omitempty"`
	ENOSPC       bool   `json:"enospc,omitempty"`
	ENOSPCPrefix string `json:"enospc_prefix,omitempty"`
}

// MarshalJSON writes durations as strings ("50ms").
func (s Spec) MarshalJSON() ([]byte, error) {
	j := specJSON{DelayPrefix: s.DelayPrefix, ENOSPC: s.ENOSPC, ENOSPCPrefix: s.ENOSPCPrefix}
	if s.WriteDelay != 0 {
		j.WriteDelay = s.WriteDelay.String()
	}
	if s.FsyncDelay != 0 {
		j.FsyncDelay = s.FsyncDelay.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads durations written as strings ("50ms").
func (s *Spec) UnmarshalJSON(b []byte) error {
	var j specJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decoding storage fault: %w", err)
	}
	wd, err := parseDuration("write_delay", j.WriteDelay)
	if err != nil {
		return err
	}
	fd, err := parseDuration("fsync_delay", j.FsyncDelay)
	if err != nil {
		return err
	}
	*s = Spec{WriteDelay: wd, FsyncDelay: fd, DelayPrefix: j.DelayPrefix, ENOSPC: j.ENOSPC, ENOSPCPrefix: j.ENOSPCPrefix}
	return nil
}

func parseDuration(field, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("decoding storage fault: %s: %w", field, err)
	}
	return d, nil
}
