package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/suites"
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "pgchaos end to end")
}

// suite is what every spec shares, set up once.
type suite struct {
	env    suites.Env
	runID  string
	target suites.Target
	// faults is the faults' environment; the node agent is installed the
	// first time a spec's fault needs it (agentDone uninstalls it).
	faults    faults.Env
	agentDone func(context.Context)
}

// faultEnv returns the faults' environment for f, installing the node agent
// first if f needs it and it is not there yet.
func (s *suite) faultEnv(ctx context.Context, f faults.Fault) faults.Env {
	if !faults.InfoOf(f).Needs.Agent || s.faults.Agent != nil {
		return s.faults
	}
	By("installing the pgchaos node agent (fault " + f.Name() + " needs it)")
	env, done, err := scenario.PrepareFaults(ctx, s.faultOptions([]faults.Fault{f}))
	Expect(err).NotTo(HaveOccurred())
	s.faults, s.agentDone = env, done // uninstalled by the suite's AfterAll
	return s.faults
}

func (s *suite) faultOptions(chosen []faults.Fault) scenario.FaultEnvOptions {
	kind := ""
	if s.env.OnKind() {
		kind = s.env.KindName
	}
	return scenario.FaultEnvOptions{Kube: s.target.Kube, RunID: s.runID, Kind: kind, Self: pgchaosBinary(),
		AgentImage: os.Getenv("PGCHAOS_AGENT_IMAGE"), Chosen: chosen,
		Operator: s.target.Adapter.Deployment(),
		Progress: func(l string) { GinkgoWriter.Println(l) }}
}

// pgchaosBinary is the static pgchaos binary the agent image and the kind
// host's watchdog are made of: $PGCHAOS_BIN, else bin/pgchaos of the
// repository (make build).
func pgchaosBinary() string {
	if b := os.Getenv("PGCHAOS_BIN"); b != "" {
		return b
	}
	b, _ := filepath.Abs(filepath.Join("..", "..", "bin", "pgchaos"))
	return b
}

// The suite's state lives in the closure of the specs; see operators_test.go.
func setupSuite(ctx context.Context, s *suite, a operators.Adapter) {
	var err error
	s.env, err = suites.EnvFromOS(suites.Getenv)
	Expect(err).NotTo(HaveOccurred())
	if !s.env.Enabled {
		Skip("end-to-end suite: set PGCHAOS_E2E=1 (and create the kind cluster first)")
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	s.runID = hex.EncodeToString(b)
	By("preparing the target (run id " + s.runID + ", artifacts in " + s.env.Artifacts + ")")
	s.target, err = s.env.Target(ctx, a, s.runID, func(l string) { GinkgoWriter.Println(l) })
	Expect(err).NotTo(HaveOccurred())
	By("installing " + a.Title())
	Expect(s.target.Operator.Install(ctx)).To(Succeed())
	s.faults, _, err = scenario.PrepareFaults(ctx, s.faultOptions(nil))
	Expect(err).NotTo(HaveOccurred())
}
