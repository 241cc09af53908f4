package history

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestAppenderKeepsEveryRecordInOrder appends from several goroutines while
// the flush loop swaps buffers, past maxBuffered (the inline flush), and
// checks that the file holds every record once, each writer's in order.
func TestAppenderKeepsEveryRecordInOrder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	a, err := NewAppender(p)
	if err != nil {
		t.Fatal(err)
	}
	const writers = 4
	// 4 x 60000 records of ~50 bytes: 12 MB, more than maxBuffered.
	const each = 60000
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				rec := fmt.Appendf(nil, "writer %d record %08d ..................\n", w, i)
				if err := a.Append(rec); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Append([]byte("late\n")); err == nil {
		t.Error("append after Close succeeded")
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	next := make([]int, writers)
	sc := bufio.NewScanner(f)
	lines := 0
	for sc.Scan() {
		var w, i int
		if _, err := fmt.Sscanf(sc.Text(), "writer %d record %d", &w, &i); err != nil || w < 0 || w >= writers {
			t.Fatalf("line %d: %q is not a record", lines+1, sc.Text())
		}
		if i != next[w] {
			t.Fatalf("line %d: writer %d record %d, want %d (lost or reordered)", lines+1, w, i, next[w])
		}
		next[w]++
		lines++
	}
	if lines != writers*each {
		t.Errorf("%d records in the file, want %d", lines, writers*each)
	}
}

// TestAppenderFlushesWithinInterval: records reach the file (the kernel)
// within a few flush intervals without Close, as a killed harness needs.
func TestAppenderFlushesWithinInterval(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	a, err := NewAppender(p)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Append([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * FlushInterval)
	for {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) == "one\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s the file holds %q, want the record", 10*FlushInterval, b)
		}
		time.Sleep(FlushInterval / 4)
	}
}
