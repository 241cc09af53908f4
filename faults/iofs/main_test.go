package iofs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain detaches the dead mounts an earlier, killed run of these tests
// left in the temporary directory, and removes their directories.
func TestMain(m *testing.M) {
	if spec := os.Getenv(childMountEnv); spec != "" {
		childMount(spec)
		return
	}
	if os.Geteuid() == 0 {
		stale, err := UnmountStale(os.TempDir())
		if err != nil {
			fmt.Fprintln(os.Stderr, "iofs tests:", err)
		}
		for _, p := range stale {
			fmt.Fprintln(os.Stderr, "iofs tests: detached the dead mount", p, "of an earlier run")
			if base := filepath.Dir(p); strings.HasPrefix(filepath.Base(base), "iofs-") {
				_ = os.RemoveAll(base)
			}
		}
	}
	os.Exit(m.Run())
}

// childMountEnv makes the test binary a child that mounts BACKING at MNT
// (the value "BACKING:MNT"), says "mounted" and waits to be killed.
const childMountEnv = "PGCHAOS_IOFS_CHILD_MOUNT"

func childMount(spec string) {
	backing, mnt, _ := strings.Cut(spec, ":")
	if _, err := New(backing, mnt, NewControl()); err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	fmt.Println("mounted")
	select {}
}
