package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// realRuncEnv overrides the path of the runc binary the shim execs.
const realRuncEnv = "PGCHAOS_REAL_RUNC"

// defaultRealRunc is the runc the shim execs when realRuncEnv is unset.
const defaultRealRunc = "/usr/bin/runc"

// droppedCap is the capability the host's bounding set lacks.
const droppedCap = "CAP_SYS_RESOURCE"

func main() {
	if err := run(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "pgchaos-runc-shim: %v\n", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	bundle, process := specPaths(args[1:])
	if bundle != "" {
		if err := rewrite(filepath.Join(bundle, "config.json"), true); err != nil {
			return err
		}
	}
	if process != "" {
		if err := rewrite(process, false); err != nil {
			return err
		}
	}
	real := os.Getenv(realRuncEnv)
	if real == "" {
		real = defaultRealRunc
	}
	argv := append([]string{real}, args[1:]...)
	if err := syscall.Exec(real, argv, os.Environ()); err != nil {
		return fmt.Errorf("exec %s: %w", real, err)
	}
	return nil
}

// isGlobalValueFlag reports whether a is one of runc's global flags that take a separate value.
func isGlobalValueFlag(a string) bool {
	switch a {
	case "--root", "--log", "--log-format", "--criu", "--rootless":
		return true
	}
	return false
}

// specPaths finds the bundle directory of `create`/`run` and the process file of
// `exec` in a runc command line; global flags may precede the subcommand.
func specPaths(args []string) (bundle, process string) {
	sub := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if sub == "" && isGlobalValueFlag(a) {
			i++ // skip the value of a global flag such as --root DIR
			continue
		}
		if sub == "" && len(a) > 0 && a[0] != '-' {
			sub = a
			continue
		}
		if sub == "" {
			continue
		}
		name, val, hasVal := cutFlag(a)
		var next string
		if !hasVal && i+1 < len(args) {
			next = args[i+1]
		}
		switch {
		case (sub == "create" || sub == "run") && (name == "bundle" || name == "b"):
			if hasVal {
				bundle = val
			} else {
				bundle = next
				i++
			}
		case sub == "exec" && (name == "process" || name == "p"):
			if hasVal {
				process = val
			} else {
				process = next
				i++
			}
		}
	}
	if (sub == "create" || sub == "run") && bundle == "" {
		bundle = "."
	}
	return bundle, process
}

// cutFlag splits "--name=value" / "-n" into name and optional value.
func cutFlag(a string) (name, val string, hasVal bool) {
	switch {
	case len(a) > 2 && a[:2] == "--":
		a = a[2:]
	case len(a) > 1 && a[0] == '-':
		a = a[1:]
	default:
		return "", "", false
	}
	for i := 0; i < len(a); i++ {
		if a[i] == '=' {
			return a[:i], a[i+1:], true
		}
	}
	return a, "", false
}

// rewrite removes droppedCap from the capability lists in the JSON file at path;
// inSpec says the file is a full OCI spec (capabilities under .process).
func rewrite(path string, inSpec bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("reading %s: %w", path, err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	changed := false
	if inSpec {
		var proc map[string]json.RawMessage
		if raw, ok := doc["process"]; ok && json.Unmarshal(raw, &proc) == nil && proc != nil {
			if stripCaps(proc) {
				if doc["process"], err = json.Marshal(proc); err != nil {
					return fmt.Errorf("encoding process of %s: %w", path, err)
				}
				changed = true
			}
		}
	} else {
		changed = stripCaps(doc)
	}
	if !changed {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// stripCaps removes droppedCap from proc["capabilities"]; it reports a change.
func stripCaps(proc map[string]json.RawMessage) bool {
	raw, ok := proc["capabilities"]
	if !ok {
		return false
	}
	var caps map[string][]string
	if json.Unmarshal(raw, &caps) != nil || caps == nil {
		return false
	}
	changed := false
	for set, list := range caps {
		kept := list[:0:0]
		for _, c := range list {
			if c == droppedCap {
				changed = true
				continue
			}
			kept = append(kept, c)
		}
		caps[set] = kept
	}
	if !changed {
		return false
	}
	b, err := json.Marshal(caps)
	if err != nil {
		return false
	}
	proc["capabilities"] = b
	return true
}
