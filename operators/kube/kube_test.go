package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecodeManifest(t *testing.T) {
	objs, err := DecodeManifest([]byte("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n# only a comment\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  namespace: a\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].GetKind() != "Namespace" || Name(objs[1]) != "a/d" {
		t.Fatalf("got %d objects: %v", len(objs), objs)
	}
	if _, err := DecodeManifest([]byte("apiVersion: v1\nkind: ConfigMap\n")); err == nil {
		t.Fatal("an object without a name must be refused")
	}
}

func TestPollCarriesTheLastReason(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := Poll(ctx, 10*time.Millisecond, "thing", func(context.Context) (bool, string, error) { return false, "still 2/3", nil })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "still 2/3") {
		t.Fatalf("got %v", err)
	}
	n := 0
	err = Poll(context.Background(), time.Millisecond, "thing", func(context.Context) (bool, string, error) { n++; return n == 3, "", nil })
	if err != nil || n != 3 {
		t.Fatalf("got %v after %d", err, n)
	}
}
