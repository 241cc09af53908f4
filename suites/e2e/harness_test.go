package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/internal/recount"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/scenario"
)

// allChecks are the verdicts every trial must carry.
var allChecks = []string{history.CheckLostAckedWrites, history.CheckUnavailability, history.CheckSplitBrain,
	history.CheckWALContinuity, history.CheckReplicationRecovery, history.CheckPhantomWrites, history.CheckExpectations}

// expectHarnessJudged asserts what the harness itself must get right on
// every trial, whatever the operator did (see suites.Env): the trial
// complete and checkable, every verdict present, written and explained,
// replication watched until decided, lost writes recounted independently,
// no split brain or phantom reported. It returns the findings it met on
// the way (the primary changing after the trial).
func expectHarnessJudged(ctx context.Context, prov *scenario.Provisioned, f faults.Fault, dir string, tr *history.Trial,
	rep history.Report, out scenario.Outcome, replBudget time.Duration) []string {
	GinkgoHelper()
	var findings []string
	By("checking the ledger is complete and checkable")
	Expect(tr.Truncated).To(BeFalse(), "the ledger of %s has no end record: the trial did not complete", dir)
	acked := 0
	for i := range tr.Ops {
		Expect(tr.Ops[i].ID).To(Equal(int64(i+1)), "ledger ids are not dense at %d", i)
		if tr.Ops[i].Outcome == history.OK {
			acked++
		}
	}
	Expect(acked).To(BeNumerically(">", 0), "the workload acknowledged no write: nothing was measured")
	Expect(tr.Faults).To(HaveLen(1), "the trial must record exactly one fault window")
	Expect(tr.Faults[0].Name).To(Equal(f.Name()))
	Expect(tr.Faults[0].Recovered).To(BeNumerically(">=", tr.Faults[0].Injected), "the fault was not recorded as reverted")
	Expect(tr.Final).NotTo(BeNil(), "final.json is missing: the final state was never read")
	Expect(tr.Final.Instances).To(HaveLen(len(prov.Final)), "final.json must list every instance")

	By("checking every verdict is present, explained and written to verdict.json")
	v := verdicts(rep)
	for _, name := range allChecks {
		c, ok := v[name]
		Expect(ok).To(BeTrue(), "verdict %s is missing", name)
		Expect(c.Status).To(BeElementOf(history.Pass, history.Failed, history.Undecided), "verdict %s", name)
		if c.Status == history.Undecided {
			Expect(c.Reason).NotTo(BeEmpty(), "verdict %s is unknown without a reason", name)
		}
	}
	written := readVerdictFile(filepath.Join(dir, history.VerdictFile))
	for _, name := range allChecks {
		Expect(written).To(HaveKeyWithValue(name, string(v[name].Status)), "verdict.json disagrees with the judged trial on %s", name)
	}

	By("checking replication was watched until its budget elapsed")
	Expect(out.WatchUntil).To(BeNumerically(">=", out.WatchFrom))
	w := scenario.DecideReplicationWait(tr, replBudget, tr.End)
	for _, at := range w.Undecided {
		Expect(at).To(BeNumerically(">", out.WatchFrom),
			"the replication event at %.1fs was left undecided although the trial watched from %.1fs to %.1fs (budget %s): the harness stopped before its budget elapsed",
			at.Seconds(), out.WatchFrom.Seconds(), out.WatchUntil.Seconds(), replBudget)
	}

	lost := v[history.CheckLostAckedWrites]
	if lost.Status != history.Undecided {
		auth, _ := lost.Figures["authoritative"].(string)
		Expect(auth).NotTo(BeEmpty(), "lost-acked-writes is decided but names no authoritative instance")
		target := auth
		var primary operators.Instance
		Eventually(func() error {
			var err error
			primary, err = operators.Primary(ctx, prov.Cluster)
			return err
		}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(2 * time.Second).Should(Succeed())
		if primary.Name != auth {
			findings = append(findings, fmt.Sprintf("the primary changed after the trial: the operator names %s, the final read found %s", primary.Name, auth))
		} else {
			target = primary.Name
		}
		By("recounting lost acknowledged writes from the raw ledger and a direct SQL read of " + target)
		dsn := ""
		for _, ft := range prov.Final {
			if ft.Name == target {
				dsn = ft.DSN
			}
		}
		Expect(dsn).NotTo(BeEmpty(), "no DSN for instance %s", target)
		var missing, ackedRaw int
		Eventually(func() error {
			var err error
			missing, ackedRaw, err = recountLost(ctx, filepath.Join(dir, history.LedgerFile), dsn)
			return err
		}).WithContext(ctx).WithTimeout(2 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
		Expect(ackedRaw).To(Equal(acked), "the raw ledger and the loaded trial disagree on acknowledged writes")
		Expect(figureInt(lost.Figures["lost"])).To(Equal(missing),
			"lost-acked-writes reports %v lost; the independent recount on %s finds %d of %d acknowledged writes missing",
			lost.Figures["lost"], target, missing, ackedRaw)
		AddReportEntry("independent recount", fmt.Sprintf("%d of %d acknowledged writes missing on %s; verdict: %v", missing, ackedRaw, target, lost.Figures["lost"]))
	}

	By("checking no split brain and no phantom write is reported")
	for _, name := range []string{history.CheckSplitBrain, history.CheckPhantomWrites} {
		Expect(v[name].Status).NotTo(Equal(history.Failed), "%s on one primary pod delete: %s", name, v[name].Summary)
	}
	return findings
}

// operatorFindings lists the verdicts that are findings about the operator
// (see suites.Env): not deterministic, gated only on request.
func operatorFindings(rep history.Report, sync bool) []string {
	v := verdicts(rep)
	var out []string
	add := func(name string) {
		if c := v[name]; c.Status != history.Pass {
			what := c.Summary
			if c.Reason != "" {
				what += " (" + c.Reason + ")"
			}
			out = append(out, fmt.Sprintf("%s %s: %s", name, c.Status, what))
		}
	}
	if sync {
		add(history.CheckLostAckedWrites)
	}
	for _, name := range []string{history.CheckUnavailability, history.CheckWALContinuity, history.CheckReplicationRecovery,
		history.CheckExpectations, history.CheckSplitBrain, history.CheckPhantomWrites} {
		add(name)
	}
	return out
}

// recordFindings writes the findings to DIR/findings.json and as report
// entries, and fails the spec on them when gate is set.
func recordFindings(dir string, findings []string, gate bool) {
	GinkgoHelper()
	data, err := json.MarshalIndent(map[string]any{"gated": gate, "findings": append([]string{}, findings...)}, "", "  ")
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(filepath.Join(dir, "findings.json"), append(data, '\n'), 0o644)).To(Succeed())
	for _, f := range findings {
		AddReportEntry("finding", f)
		GinkgoWriter.Println("finding: " + f)
	}
	if len(findings) == 0 {
		return
	}
	if gate {
		Fail(fmt.Sprintf("%d finding(s) about the operator (PGCHAOS_GATE_FINDINGS=1):\n%s", len(findings), strings.Join(findings, "\n")))
	}
	GinkgoWriter.Printf("%d finding(s) recorded in %s, not gated (set PGCHAOS_GATE_FINDINGS=1 to gate them)\n", len(findings), dir)
}

// recountLost counts lost acknowledged writes without the history and
// assert packages: the ids the raw ledger file records "ok", absent from
// the workload's table (named with the run in the ledger's header) read
// with SQL on dsn. It returns the missing and the acknowledged counts.
func recountLost(ctx context.Context, ledger, dsn string) (missing, acked int, err error) {
	fromFile, err := recount.ReadLedger(ledger)
	if err != nil {
		return 0, 0, err
	}
	ok, table, run := fromFile.IDs, fromFile.Table, fromFile.Run
	if table == "" {
		return 0, 0, fmt.Errorf("ledger %s: no header naming the table", ledger)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, dsn)
	if err != nil {
		return 0, 0, fmt.Errorf("connecting for the recount: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(cctx, "SELECT id FROM "+pgx.Identifier{table}.Sanitize()+" WHERE run = $1", run)
	if err != nil {
		return 0, 0, fmt.Errorf("reading table %s: %w", table, err)
	}
	present := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("reading table %s: %w", table, err)
		}
		present[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("reading table %s: %w", table, err)
	}
	for id := range ok {
		if !present[id] {
			missing++
		}
	}
	return missing, len(ok), nil
}

// readVerdictFile reads verdict.json as written: check name -> status.
func readVerdictFile(path string) map[string]string {
	GinkgoHelper()
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	var doc struct {
		Checks []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"checks"`
	}
	Expect(json.Unmarshal(data, &doc)).To(Succeed(), "%s is not valid JSON", path)
	out := map[string]string{}
	for _, c := range doc.Checks {
		out[c.Name] = c.Status
	}
	return out
}

// figureInt reads an integer figure, in memory or decoded from JSON; -1 if absent.
func figureInt(x any) int {
	switch n := x.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return -1
}
