package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestBadInputExitCodes(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	for _, args := range [][]string{
		{"cluster", "create", "--workers", "0"},
		{"cluster", "status", "--kubeconfig", missing},
		{"cluster", "frobnicate", "--bogus"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != exitBadInput {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitBadInput, errb.String())
		}
		if lines := strings.Count(strings.TrimSpace(errb.String()), "\n"); lines != 0 {
			t.Errorf("%v: stderr is %d lines, want one: %q", args, lines+1, errb.String())
		}
	}
}
