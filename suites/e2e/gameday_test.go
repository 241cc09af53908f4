package e2e_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/pgchaos/pgchaos/gameday"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/suites"
)

// A game day driven as a person would, in tmux: the plan runs in the
// terminal view, a note is typed, the step waiting for a key is let go
// (the primary's pod is deleted and held), then the day is aborted with a;
// the fault must be reverted, the note on the timeline, the trial judged
// and its report written.
var _ = Describe("pgchaos gameday in a terminal", Label(suites.OperatorLabel(leftoversOperator), suites.LabelGameday), Ordered, func() {
	It("runs a plan, takes a note and a key, and aborts cleanly", func(ctx SpecContext) {
		env, _, _ := kindCLITarget("the game-day spec runs on the local kind cluster")
		_, err := exec.LookPath("tmux")
		Expect(err).NotTo(HaveOccurred(), "tmux is needed (ci/install-deps.sh installs it)")
		dir := env.SpecDir("gameday")
		Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
		planPath := filepath.Join(dir, "plan.yaml")
		Expect(os.WriteFile(planPath, []byte(`format: pgchaos-gameday
name: tmux drill
steps:
  - {at: 3s, note: "warm: writes flowing"}
  - {wait_key: true, fault: primary-pod-delete, hold: 10m, note: "the primary goes"}
cool_down: 5s
`), 0o644)).To(Succeed())
		out := filepath.Join(dir, "day")
		session := fmt.Sprintf("pgchaos-gameday-%d", time.Now().UnixNano()%1e6)
		shell := fmt.Sprintf("%s gameday --plan %s --operator %s --kind-name %s --namespace pgchaos-gameday --out %s --yes; echo GAMEDAY-EXIT=$?; sleep 600",
			pgchaosBinary(), planPath, leftoversOperator, env.KindName, out)
		tm := exec.Command("tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "50", shell)
		if os.Getenv("TERM") == "" || os.Getenv("TERM") == "dumb" {
			tm.Env = append(os.Environ(), "TERM=xterm-256color") // CI runs without a terminal
		}
		outb, err := tm.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "tmux new-session: %s", outb)
		DeferCleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", session).Run() })
		screen := func() string {
			b, _ := exec.Command("tmux", "capture-pane", "-p", "-t", session).Output()
			return string(b)
		}
		keys := func(k ...string) {
			Expect(exec.Command("tmux", append([]string{"send-keys", "-t", session}, k...)...).Run()).To(Succeed())
		}
		waitScreen := func(ctx context.Context, want string, d time.Duration) {
			Eventually(screen).WithContext(ctx).WithTimeout(d).WithPolling(500*time.Millisecond).Should(ContainSubstring(want),
				"the terminal never showed %q", want)
		}
		By("waiting for the live view to wait for the key")
		waitScreen(ctx, "WAITING: press c", 8*time.Minute)
		Expect(screen()).To(And(ContainSubstring("writes  acknowledged"), ContainSubstring("primary")))
		By("typing a note")
		keys("n")
		waitScreen(ctx, "note>", 10*time.Second)
		keys("-l", "typed in tmux")
		keys("Enter")
		By("letting the waiting step go: the primary's pod is deleted and held")
		keys("c")
		waitScreen(ctx, "FAULT primary-pod-delete", 30*time.Second)
		By("aborting with a")
		keys("a")
		waitScreen(ctx, "GAMEDAY-EXIT=", 5*time.Minute)
		final := screen()
		GinkgoWriter.Println(final)
		Expect(final).To(ContainSubstring("game day aborted after 1 of 2 steps"))
		Expect(final).To(MatchRegexp(`GAMEDAY-EXIT=[01]\b`))

		tr, err := history.Load(out)
		Expect(err).NotTo(HaveOccurred())
		Expect(tr.Truncated).To(BeFalse())
		Expect(tr.Final).NotTo(BeNil(), "the aborted day's final state was not read")
		Expect(tr.Faults).To(HaveLen(1))
		Expect(tr.Faults[0].Recovered).To(BeNumerically(">", tr.Faults[0].Injected), "the aborted fault was not reverted")
		var notes []string
		for _, e := range tr.Events {
			if e.Kind == gameday.EventNote {
				notes = append(notes, e.Detail)
			}
		}
		// The typed note is written by its own goroutine, the step's note by
		// the step: typed and "c" pressed within a second, they may land in
		// either order (both carry their time). The first and last are fixed.
		Expect(notes).To(ConsistOf("warm: writes flowing", "typed in tmux", "the primary goes", "game day aborted"))
		Expect(notes[0]).To(Equal("warm: writes flowing"))
		Expect(notes[len(notes)-1]).To(Equal("game day aborted"))
		Expect(filepath.Join(out, history.VerdictFile)).To(BeAnExistingFile())
		Expect(filepath.Join(out, "report.html")).To(BeAnExistingFile())
		report, err := os.ReadFile(filepath.Join(out, "report.html"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(report)).To(ContainSubstring("typed in tmux"), "the note is not on the report's timeline")
	}, SpecTimeout(20*time.Minute))
})
