package pgtestbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// StartCopy copies the data directory of the stopped (or killed) instance
// src into a new instance called name and starts it on its own port, alone:
// not a replica, not in Instances, invisible to MultiHostDSN. It shows what
// src had on its disk, e.g. every write a crashed primary acknowledged.
// Close stops it with the rest of the cluster.
func (c *Cluster) StartCopy(ctx context.Context, src *Instance, name string) (*Instance, error) {
	if src.Running() {
		return nil, fmt.Errorf("copying %s: it is running; stop or kill it first", src.Name)
	}
	used := map[int]bool{}
	for _, i := range append(append([]*Instance(nil), c.Instances...), c.extras...) {
		used[i.Port] = true
	}
	port, err := freePort(used)
	if err != nil {
		return nil, fmt.Errorf("choosing a port for %s: %w", name, err)
	}
	cp := &Instance{Name: name, Port: port, DataDir: filepath.Join(c.BaseDir, name),
		LogFile: filepath.Join(c.BaseDir, name+".log"), c: c}
	// cp -a keeps owners and modes; it runs as us, the owner or root.
	if out, err := exec.CommandContext(ctx, "cp", "-a", src.DataDir, cp.DataDir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("copying %s to %s: %w: %s", src.Name, name, err, out)
	}
	for _, f := range []string{"standby.signal", "recovery.signal"} {
		if err := os.Remove(filepath.Join(cp.DataDir, f)); err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("making %s standalone: %w", name, err)
		}
	}
	if err := c.writeConf(cp); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.extras = append(c.extras, cp)
	c.mu.Unlock()
	if err := c.startFresh(ctx, cp, used); err != nil {
		return nil, err
	}
	return cp, nil
}
