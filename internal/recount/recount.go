package recount

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

// Acked is what a ledger file says was acknowledged.
type Acked struct {
	// IDs holds every id with an "ok" record.
	IDs map[int64]bool
	// Table and Run come from the header: the workload's table and the
	// run number its rows carry. Empty and 0 when the header is missing.
	Table string
	Run   int64
}

// ReadLedger reads path line by line. Lines that are not JSON records (a
// torn last line) are skipped, as the ledger's format allows.
func ReadLedger(path string) (Acked, error) {
	out := Acked{IDs: map[int64]bool{}}
	f, err := os.Open(path)
	if err != nil {
		return out, fmt.Errorf("reading ledger %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct {
			T     string `json:"t"`
			ID    int64  `json:"id"`
			Table string `json:"table"`
			Run   int64  `json:"run"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		switch rec.T {
		case "header":
			out.Table, out.Run = rec.Table, rec.Run
		case "ok":
			out.IDs[rec.ID] = true
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("reading ledger %s: %w", path, err)
	}
	return out, nil
}
