package agent

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

func (e *Executor) docker(ctx context.Context, args ...string) (string, error) {
	bin := e.Docker
	if bin == "" {
		bin = "docker"
	}
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// containerState reads a container's status ("running", "paused", "exited")
// and main pid; exists is false when there is no such container.
func (e *Executor) containerState(ctx context.Context, name string) (status string, pid int, exists bool, err error) {
	out, err := e.docker(ctx, "inspect", "-f", "{{.State.Status}} {{.State.Pid}}", name)
	if err != nil {
		if strings.Contains(out, "No such") {
			return "", 0, false, nil
		}
		return "", 0, false, err
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		return "", 0, true, fmt.Errorf("inspecting container %s: unexpected %q", name, out)
	}
	pid, err = strconv.Atoi(f[1])
	if err != nil {
		return "", 0, true, fmt.Errorf("inspecting container %s: pid %q: %w", name, f[1], err)
	}
	return f[0], pid, true, nil
}

// containerPID is the host pid of a running (or paused) container.
func (e *Executor) containerPID(ctx context.Context, name string) (int, bool, error) {
	st, pid, ok, err := e.containerState(ctx, name)
	if err != nil || !ok || pid == 0 || (st != "running" && st != "paused") {
		return 0, false, err
	}
	return pid, true, nil
}

func (e *Executor) nodeApply(ctx context.Context, a Action) error {
	var err error
	switch a.Kind {
	case NodeStop:
		_, err = e.docker(ctx, "stop", "--time", "10", a.Container)
	case NodeKill:
		_, err = e.docker(ctx, "kill", a.Container)
	case NodePause:
		_, err = e.docker(ctx, "pause", a.Container)
	}
	return err
}

// nodeRevert brings the node container back to running, whatever happened.
func (e *Executor) nodeRevert(ctx context.Context, a Action) error {
	st, _, ok, err := e.containerState(ctx, a.Container)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("node container %s no longer exists", a.Container)
	}
	switch st {
	case "running":
		return nil
	case "paused":
		_, err = e.docker(ctx, "unpause", a.Container)
	default:
		_, err = e.docker(ctx, "start", a.Container)
	}
	return err
}
