package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestChooseFaultsAndModes(t *testing.T) {
	all, err := chooseFaults("all")
	if err != nil || len(all) < 5 {
		t.Fatalf("all: %d %v", len(all), err)
	}
	two, err := chooseFaults("primary-pod-delete, planned-switchover")
	if err != nil || len(two) != 2 || two[1].Name() != "planned-switchover" {
		t.Fatalf("two: %v %v", two, err)
	}
	if _, err := chooseFaults("nope"); err == nil {
		t.Fatal("an unknown fault must be refused")
	}
	if m, err := chooseModes("both"); err != nil || strings.Join(m, ",") != "async,sync" {
		t.Fatalf("both: %v %v", m, err)
	}
	if _, err := chooseModes("semi"); err == nil {
		t.Fatal("an unknown mode must be refused")
	}
}

func TestRunBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--out", "x"},
		{"run", "--operator", "zalando", "--out", "x"},
		{"run", "--operator", "cnpg"},
		{"run", "--operator", "cnpg", "--out", "x", "--scenario", "nope"},
		{"run", "--operator", "cnpg", "--out", "x", "--replication", "semi"},
		{"run", "--operator", "cnpg", "--out", "x", "--repeat", "0"},
		{"run", "--operator", "cnpg", "--out", "x", "--cluster", "pg", "--replication", "both"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != exitBadInput || !strings.HasPrefix(errb.String(), "pgchaos: run: ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
