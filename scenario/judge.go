package scenario

import (
	"context"
	"time"

	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/workload"
)

// RecordFinal reads the rows of run in table from every target, stamps the
// read on the trial's clock (start is the trial's time origin) and writes it
// to DIR/final.json. perInstance bounds the read of one instance.
func RecordFinal(ctx context.Context, dir string, start time.Time, table string, run int64,
	targets []workload.FinalTarget, perInstance time.Duration) (*history.FinalState, error) {
	fs, err := workload.ReadFinal(ctx, targets, table, run, perInstance)
	if err != nil {
		return nil, err
	}
	fs.ReadAt = time.Since(start)
	if err := history.WriteFinal(dir, fs); err != nil {
		return nil, err
	}
	return fs, nil
}

// Judge runs every checker on the trial recorded in dir and writes
// DIR/verdict.json.
func Judge(dir string, t *history.Trial, cfg assert.Config) (history.Report, error) {
	rep := assert.Run(t, cfg)
	return rep, history.WriteReport(dir, rep)
}
