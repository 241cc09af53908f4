package cnpg_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/pgchaos/pgchaos/suites"
)

func TestCNPG(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "CloudNativePG")
}

// suite is what every spec shares, set up once.
type suite struct {
	env    suites.Env
	runID  string
	target suites.Target
}

// The suite's state lives in the closure of the specs; see cnpg_test.go.
func setupSuite(ctx context.Context, s *suite) {
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
	s.target, err = s.env.CNPGTarget(ctx, s.runID, func(l string) { GinkgoWriter.Println(l) })
	Expect(err).NotTo(HaveOccurred())
	By("installing CloudNativePG")
	Expect(s.target.Operator.Install(ctx)).To(Succeed())
}
