package scenario

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/operators"
)

// flipCluster is ready throughout, but its primary changes on the first
// Instances calls: a status from before the fault, then the new primary.
type flipCluster struct {
	calls atomic.Int32
	flips int32
	// alternate: the primary changes on every call (never settles).
	alternate bool
}

func (f *flipCluster) Ref() operators.Ref                  { return operators.Ref{Namespace: "t", Name: "c"} }
func (f *flipCluster) WaitReady(ctx context.Context) error { return nil }
func (f *flipCluster) Instances(ctx context.Context) ([]operators.Instance, error) {
	n := f.calls.Add(1)
	name := "pg-1"
	if n > f.flips || (f.alternate && n%2 == 0) {
		name = "pg-2"
	}
	return []operators.Instance{{Name: name, Role: operators.RolePrimary}}, nil
}
func (f *flipCluster) ReadWrite(ctx context.Context) (operators.Endpoint, error) {
	return operators.Endpoint{}, nil
}
func (f *flipCluster) Credentials(ctx context.Context, a operators.Access) (operators.Credentials, error) {
	return operators.Credentials{}, nil
}

func TestWaitSettledWaitsForAStablePrimary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The primary reads pg-1 once, then pg-2: the first settle period sees a
	// change and must not count; the second sees pg-2 twice.
	c := &flipCluster{flips: 1}
	start := time.Now()
	if err := WaitSettled(ctx, c, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if c.calls.Load() < 4 {
		t.Fatalf("settled after %d primary reads: a change of primary during the settle period was accepted", c.calls.Load())
	}
	if time.Since(start) < 400*time.Millisecond {
		t.Fatalf("settled in %s: want at least two settle periods", time.Since(start))
	}
	// No settle period: ready at once.
	if err := WaitSettled(ctx, &flipCluster{}, 0); err != nil {
		t.Fatal(err)
	}
	// A primary that never settles ends with the context.
	short, cancel2 := context.WithTimeout(ctx, 700*time.Millisecond)
	defer cancel2()
	if err := WaitSettled(short, &flipCluster{flips: 1 << 30, alternate: true}, 100*time.Millisecond); err == nil {
		t.Fatal("a primary changing all the time counted as settled")
	}
}
