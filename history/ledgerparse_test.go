package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readLedgerReference is readLedger as it was before the hand-written
// parser (encoding/json for every line), kept verbatim as the reference
// the fast reader must agree with.
func readLedgerReference(r io.Reader, path string, t *Trial, intern func(string) uint32) error {
	sawHeader, sawEnd := false, false
	var last time.Duration
	lineNo := 0
	record := func(no int, line []byte) error {
		lineNo = no
		var rec ledgerRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("%s line %d: not a ledger record: %w", path, no, err)
		}
		if !sawHeader {
			if rec.T != "header" {
				return fmt.Errorf("%s line %d: the ledger must start with its header, found %q", path, no, rec.T)
			}
			if err := json.Unmarshal(line, &t.Meta); err != nil {
				return fmt.Errorf("%s line %d: bad header: %w", path, no, err)
			}
			if t.Meta.Format != LedgerFormat {
				return fmt.Errorf("%s: format %q is not %q", path, t.Meta.Format, LedgerFormat)
			}
			if t.Meta.Version < 1 || t.Meta.Version > LedgerVersion {
				return fmt.Errorf("%s: ledger version %d is not supported (this pgchaos reads 1 to %d)", path, t.Meta.Version, LedgerVersion)
			}
			sawHeader = true
			return nil
		}
		if sawEnd {
			return fmt.Errorf("%s line %d: record after the end record", path, no)
		}
		if rec.At > int64(last) {
			last = time.Duration(rec.At)
		}
		switch rec.T {
		case "node":
			if rec.Node == nil || *rec.Node != len(t.Nodes) {
				return fmt.Errorf("%s line %d: node records must be numbered 0, 1, ... in order", path, no)
			}
			t.Nodes = append(t.Nodes, Node{Server: rec.Server, Instance: rec.Instance, SystemID: rec.SysID, Started: rec.Started})
		case "inv":
			if rec.ID != int64(len(t.Ops))+1 {
				return fmt.Errorf("%s line %d: write id %d out of sequence (expected %d)", path, no, rec.ID, len(t.Ops)+1)
			}
			t.Ops = append(t.Ops, Op{ID: rec.ID, Client: rec.C, Invoke: time.Duration(rec.At), Node: NoNode, Outcome: Pending})
		case "ok", "fail", "unk":
			if rec.ID < 1 || rec.ID > int64(len(t.Ops)) {
				return fmt.Errorf("%s line %d: outcome for write %d that was never invoked", path, no, rec.ID)
			}
			op := &t.Ops[rec.ID-1]
			if op.Outcome != Pending {
				return fmt.Errorf("%s line %d: second outcome for write %d", path, no, rec.ID)
			}
			op.Return = time.Duration(rec.At)
			switch rec.T {
			case "ok":
				if rec.N == nil || *rec.N < 0 || *rec.N >= len(t.Nodes) {
					return fmt.Errorf("%s line %d: write %d acknowledged by an unknown node", path, no, rec.ID)
				}
				lsn, err := ParseLSN(rec.LSN)
				if err != nil {
					return fmt.Errorf("%s line %d: %w", path, no, err)
				}
				op.Outcome, op.Node, op.LSN, op.Timeline, op.ServerClock = OK, NodeID(*rec.N), lsn, rec.TL, rec.Clk
			case "fail":
				op.Outcome, op.Err = Fail, intern(rec.Err)
			default:
				op.Outcome, op.Err = Unknown, intern(rec.Err)
			}
		case "end":
			sawEnd = true
			t.End = time.Duration(rec.At)
		default:
			return fmt.Errorf("%s line %d: unknown record type %q", path, no, rec.T)
		}
		return nil
	}
	partial, err := lines(r, record)
	if err != nil {
		return err
	}
	// A last line without its newline is complete when it is a whole JSON
	// record (an object cut short is never valid JSON): e.g. an end record
	// whose newline the crash cut off.
	if len(partial) > 0 && sawHeader && json.Valid(bytes.TrimSpace(partial)) {
		if err := record(lineNo+1, partial); err != nil {
			return err
		}
		partial = nil
	}
	if !sawHeader {
		if len(partial) > 0 {
			return fmt.Errorf("%s: truncated inside its header", path)
		}
		return fmt.Errorf("%s: empty ledger (no header)", path)
	}
	// A partial last line is what a killed writer leaves; everything before it
	// stands.
	t.Truncated = !sawEnd
	if !sawEnd {
		t.End = last
	}
	return nil
}

// ledgerResult is what reading a ledger gives: the trial's ledger part, or
// the error.
type ledgerResult struct {
	Meta      Meta
	Nodes     []Node
	Ops       []Op
	Errors    []string
	Truncated bool
	End       time.Duration
	Err       string
}

type ledgerReader func(r *bytes.Reader, path string, t *Trial, intern func(string) uint32) error

func readWith(content []byte, read ledgerReader) ledgerResult {
	t := &Trial{Errors: []string{""}}
	errIdx := map[string]uint32{"": 0}
	intern := func(s string) uint32 {
		if i, ok := errIdx[s]; ok {
			return i
		}
		i := uint32(len(t.Errors))
		t.Errors = append(t.Errors, s)
		errIdx[s] = i
		return i
	}
	if err := read(bytes.NewReader(content), "ledger.jsonl", t, intern); err != nil {
		return ledgerResult{Err: err.Error()}
	}
	return ledgerResult{Meta: t.Meta, Nodes: t.Nodes, Ops: t.Ops, Errors: t.Errors, Truncated: t.Truncated, End: t.End}
}

var (
	readReference ledgerReader = func(r *bytes.Reader, p string, t *Trial, in func(string) uint32) error {
		return readLedgerReference(r, p, t, in)
	}
	readJSONOnly ledgerReader = func(r *bytes.Reader, p string, t *Trial, in func(string) uint32) error {
		return readLedgerWith(r, p, t, in, 0)
	}
)

// readFast reads with the hand-written parser in chunks of about chunk bytes.
func readFast(chunk int) ledgerReader {
	return func(r *bytes.Reader, p string, t *Trial, in func(string) uint32) error {
		return readLedgerWith(r, p, t, in, chunk)
	}
}

// sameAsReference reads content with the reference, the JSON-only path and
// the fast path (in chunks of the default size, and small ones that cut
// lines anywhere), and reports any difference.
func sameAsReference(t *testing.T, content []byte) ledgerResult {
	t.Helper()
	want := readWith(content, readReference)
	readers := map[string]ledgerReader{"encoding/json path": readJSONOnly, "fast parser": readFast(ledgerChunkSize)}
	for _, c := range []int{1, 5, 64, 1000} {
		if c*10000 >= len(content) {
			readers[fmt.Sprintf("fast parser, %d-byte chunks", c)] = readFast(c)
		}
	}
	for name, read := range readers {
		got := readWith(content, read)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs from the reference on %q:\n got  %s\n want %s", name, content, describe(got), describe(want))
		}
	}
	return want
}

func describe(r ledgerResult) string {
	if r.Err != "" {
		return "error: " + r.Err
	}
	return fmt.Sprintf("%d nodes %+v, %d ops %+v, errors %q, truncated %v, end %d", len(r.Nodes), r.Nodes, len(r.Ops), r.Ops, r.Errors, r.Truncated, r.End)
}

const (
	testHeader = `{"t":"header","format":"pgchaos-ledger","version":1,"start":"2026-11-22T00:00:00Z","clients":2}` + "\n"
	testNodes  = `{"t":"node","node":0,"server":"10.0.0.1:5432","instance":"pg-0","sysid":"7311","started":"2026-11-22 00:00:00+00"}` + "\n" +
		`{"t":"node","node":1,"server":"10.0.0.2:5432","instance":"pg-1"}` + "\n"
	inv1 = `{"t":"inv","id":1,"c":0,"at":10}` + "\n"
	inv2 = `{"t":"inv","id":2,"c":1,"at":11}` + "\n"
	inv3 = `{"t":"inv","id":3,"c":0,"at":12}` + "\n"
)

// ledgerCases are ledgers the two parsers must read alike: every record
// type, fields in any order, escapes, unicode, huge and negative numbers,
// missing and mistyped fields, bad LSNs, partial last lines, CRLF, blanks.
// Bodies are prefixed with a header, two nodes and writes 1-3 unless the
// name starts with "raw".
var ledgerCases = map[string]string{
	"canonical": `{"t":"ok","id":1,"at":20,"n":0,"lsn":"0/3000148","tl":1,"clk":1763769600123456}` + "\n" +
		`{"t":"fail","id":2,"at":21,"err":"ERROR: cannot execute INSERT in a read-only transaction (SQLSTATE 25006)"}` + "\n" +
		`{"t":"unk","id":3,"at":22,"err":"timeout: context deadline exceeded"}` + "\n" +
		`{"t":"inv","id":4,"c":1,"at":23}` + "\n" + `{"t":"end","at":30}` + "\n",
	"reordered": `{"lsn":"16/B374D848","clk":5,"tl":2,"n":1,"at":20,"id":1,"t":"ok"}` + "\n" +
		`{"err":"x","id":2,"t":"fail","at":21}` + "\n" + `{"at":22,"id":3,"err":"y","t":"unk"}` + "\n" +
		`{"at":23,"c":7,"id":4,"t":"inv"}` + "\n" + `{"at":30,"t":"end"}` + "\n",
	"whitespace": " { \"t\" :\t\"ok\" , \"id\":1 ,\"at\" : 20,\"n\":0,\"lsn\":\"0/1\" ,\"tl\":1,\"clk\":0 }  \n" +
		"\t{\"t\":\"fail\",\"id\":2,\"at\":21,\"err\":\"e\"}\t\n",
	"escapes in err": `{"t":"fail","id":1,"at":20,"err":"ERROR: \"quoted\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 lone \ud800 \u0000 end"}` + "\n" +
		`{"t":"unk","id":2,"at":21,"err":"relation \"pgchaos_writes\" does not exist"}` + "\n" +
		`{"t":"unk","id":3,"at":22,"err":"relation \"pgchaos_writes\" does not exist"}` + "\n",
	"same message two spellings": `{"t":"fail","id":1,"at":20,"err":"abc"}` + "\n" + `{"t":"fail","id":2,"at":21,"err":"a\u0062c"}` + "\n" +
		`{"t":"unk","id":3,"at":22,"err":""}` + "\n",
	"unicode":                   `{"t":"fail","id":1,"at":20,"err":"ошибка — 日本語 😀 \u2028"}` + "\n" + `{"t":"unk","id":2,"at":21,"err":"` + "\xff\xfe bad utf-8 \xc3" + `"}` + "\n",
	"bad escape":                `{"t":"fail","id":1,"at":20,"err":"bad \x escape"}` + "\n",
	"bad unicode escape":        `{"t":"fail","id":1,"at":20,"err":"bad \u12G4"}` + "\n",
	"control char in err":       "{\"t\":\"fail\",\"id\":1,\"at\":20,\"err\":\"tab\there\"}\n",
	"unterminated string":       `{"t":"fail","id":1,"at":20,"err":"never closed}` + "\n",
	"huge at":                   `{"t":"fail","id":1,"at":9223372036854775807,"err":"e"}` + "\n",
	"overflowing at":            `{"t":"fail","id":1,"at":9223372036854775808,"err":"e"}` + "\n",
	"min clk":                   `{"t":"ok","id":1,"at":20,"n":0,"lsn":"0/1","tl":1,"clk":-9223372036854775808}` + "\n",
	"huge id":                   `{"t":"fail","id":99999999999999999999,"at":20}` + "\n",
	"18 digit id":               `{"t":"fail","id":999999999999999999,"at":20}` + "\n",
	"max c":                     `{"t":"inv","id":4,"c":4294967295,"at":20}` + "\n",
	"overflowing c":             `{"t":"inv","id":4,"c":4294967296,"at":20}` + "\n",
	"negative c":                `{"t":"inv","id":4,"c":-1,"at":20}` + "\n",
	"negative zero c":           `{"t":"inv","id":4,"c":-0,"at":20}` + "\n",
	"negative tl":               `{"t":"ok","id":1,"at":20,"n":0,"lsn":"0/1","tl":-1}` + "\n",
	"negative id inv":           `{"t":"inv","id":-4,"c":0,"at":20}` + "\n",
	"negative id outcome":       `{"t":"unk","id":-1,"at":20}` + "\n",
	"negative zero id":          `{"t":"unk","id":-0,"at":20}` + "\n",
	"zero id":                   `{"t":"unk","id":0,"at":20}` + "\n",
	"negative at":               `{"t":"unk","id":1,"at":-20}` + "\n",
	"leading zero":              `{"t":"unk","id":01,"at":20}` + "\n",
	"fraction":                  `{"t":"unk","id":1,"at":20.5}` + "\n",
	"integral fraction":         `{"t":"unk","id":1.0,"at":20}` + "\n",
	"exponent":                  `{"t":"unk","id":1,"at":2e3}` + "\n",
	"exponent n":                `{"t":"ok","id":1,"at":20,"n":0e0,"lsn":"0/1"}` + "\n",
	"lone minus":                `{"t":"unk","id":-,"at":20}` + "\n",
	"plus sign":                 `{"t":"unk","id":+1,"at":20}` + "\n",
	"missing c":                 `{"t":"inv","id":4,"at":20}` + "\n",
	"missing at":                `{"t":"inv","id":4,"c":1}` + "\n" + `{"t":"unk","id":4}` + "\n",
	"missing id":                `{"t":"unk","at":20}` + "\n",
	"missing t":                 `{"id":4,"c":1,"at":20}` + "\n",
	"missing n":                 `{"t":"ok","id":1,"at":20,"lsn":"0/1","tl":1,"clk":3}` + "\n",
	"missing lsn":               `{"t":"ok","id":1,"at":20,"n":0,"tl":1,"clk":3}` + "\n",
	"missing tl clk":            `{"t":"ok","id":1,"at":20,"n":0,"lsn":"0/1"}` + "\n",
	"missing err":               `{"t":"fail","id":1,"at":20}` + "\n" + `{"t":"unk","id":2,"at":21}` + "\n",
	"null n":                    `{"t":"ok","id":1,"at":20,"n":null,"lsn":"0/1"}` + "\n",
	"null id":                   `{"t":"unk","id":null,"at":20}` + "\n",
	"null err":                  `{"t":"unk","id":1,"at":20,"err":null}` + "\n",
	"null t":                    `{"t":null,"id":1,"at":20}` + "\n",
	"n unknown":                 `{"t":"ok","id":1,"at":20,"n":2,"lsn":"0/1"}` + "\n",
	"n negative":                `{"t":"ok","id":1,"at":20,"n":-1,"lsn":"0/1"}` + "\n",
	"n huge":                    `{"t":"ok","id":1,"at":20,"n":9223372036854775807,"lsn":"0/1"}` + "\n",
	"n and bad lsn":             `{"t":"ok","id":1,"at":20,"n":5,"lsn":"bad"}` + "\n",
	"string id":                 `{"t":"unk","id":"1","at":20}` + "\n",
	"number err":                `{"t":"unk","id":1,"at":20,"err":5}` + "\n",
	"number lsn":                `{"t":"ok","id":1,"at":20,"n":0,"lsn":5}` + "\n",
	"bool c":                    `{"t":"inv","id":4,"c":true,"at":20}` + "\n",
	"number t":                  `{"t":1,"id":4,"c":0,"at":20}` + "\n",
	"object err":                `{"t":"unk","id":1,"at":20,"err":{"a":[1,2]}}` + "\n",
	"array t":                   `{"t":["inv"],"id":4,"c":0,"at":20}` + "\n",
	"duplicate id":              `{"t":"inv","id":5,"id":4,"c":0,"at":20}` + "\n",
	"duplicate t":               `{"t":"fail","t":"inv","id":4,"c":0,"at":20}` + "\n",
	"case variant keys":         `{"T":"inv","ID":4,"C":3,"At":20}` + "\n" + `{"t":"unk","Id":4,"at":21,"ERR":"e"}` + "\n",
	"case variant value":        `{"t":"OK","id":1,"at":20}` + "\n",
	"escaped type":              `{"t":"in\u0076","id":4,"c":0,"at":20}` + "\n",
	"escaped key":               `{"\u0074":"inv","id":4,"c":0,"at":20}` + "\n",
	"extra key":                 `{"t":"inv","id":4,"c":0,"at":20,"x":[1,{"y":null}]}` + "\n",
	"node key on inv":           `{"t":"inv","id":4,"c":0,"at":20,"node":9,"server":"s"}` + "\n",
	"lsn on fail":               `{"t":"fail","id":1,"at":20,"lsn":"garbage","n":-7,"tl":1,"clk":2,"c":3,"err":"e"}` + "\n",
	"escaped lsn":               `{"t":"ok","id":1,"at":20,"n":0,"lsn":"\u0030/1"}` + "\n",
	"trailing garbage":          `{"t":"inv","id":4,"c":0,"at":20} x` + "\n",
	"trailing brace":            `{"t":"inv","id":4,"c":0,"at":20}}` + "\n",
	"two objects":               `{"t":"inv","id":4,"c":0,"at":20}{"t":"inv","id":5,"c":0,"at":20}` + "\n",
	"trailing comma":            `{"t":"inv","id":4,"c":0,"at":20,}` + "\n",
	"missing colon":             `{"t":"inv","id" 4,"c":0,"at":20}` + "\n",
	"empty object":              `{}` + "\n",
	"not an object":             `[1,2]` + "\n",
	"vertical tab":              "{\"t\":\"inv\",\"id\":4,\"c\":0,\"at\":20}\v\n",
	"second outcome":            `{"t":"unk","id":1,"at":20}` + "\n" + `{"t":"ok","id":1,"at":21,"n":0,"lsn":"0/1"}` + "\n",
	"never invoked":             `{"t":"fail","id":4,"at":20}` + "\n",
	"out of sequence":           `{"t":"inv","id":5,"c":0,"at":20}` + "\n",
	"repeated inv":              `{"t":"inv","id":3,"c":0,"at":20}` + "\n",
	"record after end":          `{"t":"end","at":20}` + "\n" + `{"t":"unk","id":1,"at":21}` + "\n",
	"second header":             testHeader,
	"unknown type":              `{"t":"boom","at":20}` + "\n",
	"node out of order":         `{"t":"node","node":5,"server":"s"}` + "\n",
	"node after writes":         `{"t":"node","node":2,"server":"10.0.0.3:5432","instance":"pg-2","sysid":"7311","started":"x","at":99}` + "\n" + `{"t":"ok","id":1,"at":20,"n":2,"lsn":"0/1","tl":3}` + "\n",
	"end without at":            `{"t":"end"}` + "\n",
	"end then blanks":           `{"t":"end","at":40}` + "\n\n   \n\t\n",
	"crlf":                      strings.ReplaceAll(`{"t":"ok","id":1,"at":20,"n":0,"lsn":"0/1","tl":1,"clk":3}`+"\n"+`{"t":"fail","id":2,"at":21,"err":"e"}`+"\n"+`{"t":"end","at":30}`+"\n", "\n", "\r\n"),
	"blank lines":               "\n\n" + `{"t":"unk","id":1,"at":20}` + "\n   \n\t\r\n" + `{"t":"unk","id":2,"at":21}` + "\n\n",
	"partial last line":         `{"t":"unk","id":1,"at":20}` + "\n" + `{"t":"unk","id":2,"at":2`,
	"partial last string":       `{"t":"unk","id":1,"at":20,"err":"cut`,
	"whole last line no nl":     `{"t":"unk","id":1,"at":20}` + "\n" + `{"t":"end","at":30}`,
	"whole ok no nl":            `{"t":"ok","id":1,"at":20,"n":0,"lsn":"0/1","tl":1,"clk":3}`,
	"whole bad last line":       `{"t":"ok","id":1,"at":20,"n":9,"lsn":"0/1"}`,
	"valid non-object last":     `{"t":"unk","id":1,"at":20}` + "\n" + `17`,
	"crlf partial":              `{"t":"unk","id":1,"at":20}` + "\r\n" + `{"t":"unk","id":2,"at":21}` + "\r",
	"trailing spaces last line": `{"t":"unk","id":1,"at":20}` + "\n   ",
	"raw empty":                 "",
	"raw blanks only":           "\n \n\t\n",
	"raw spaces no newline":     "\n  \t",
	"raw no header":             inv1,
	"raw header only":           testHeader,
	"raw header no newline":     strings.TrimSuffix(testHeader, "\n"),
	"raw cut header":            testHeader[:30],
	"raw header then inv":       testHeader + inv1 + `{"t":"end","at":5}` + "\n",
	"raw header crlf":           strings.ReplaceAll(testHeader+inv1+inv2, "\n", "\r\n"),
	"raw future version":        strings.Replace(testHeader, `"version":1`, `"version":2`, 1) + inv1,
	"raw other format":          strings.Replace(testHeader, "pgchaos-ledger", "x", 1) + inv1,
	"raw bad header":            `{"t":"header","format":"pgchaos-ledger","version":"1"}` + "\n",
	"raw garbage":               "not json\n",
}

// lsnCases are LSN spellings in an ok record.
var lsnCases = []string{"0/0", "0/3000148", "16/B374D848", "ffffffff/ffffffff", "FFFFFFFF/FFFFFFFF", "00000000000001/1",
	"", "1", "/", "0/", "/0", "0/1/2", " 0/1", "0/1 ", "0x1/0", "+1/0", "-1/0", "100000000/0", "0/100000000", "0/XYZ", "0_1/0", "é/1", "0/\xff"}

func withPrefix(name, body string) string {
	if strings.HasPrefix(name, "raw") {
		return body
	}
	return testHeader + testNodes + inv1 + inv2 + inv3 + body
}

func TestLedgerParsersAgree(t *testing.T) {
	for name, body := range ledgerCases {
		t.Run(name, func(t *testing.T) { sameAsReference(t, []byte(withPrefix(name, body))) })
	}
	for _, l := range lsnCases {
		t.Run("lsn "+l, func(t *testing.T) {
			sameAsReference(t, []byte(withPrefix("", `{"t":"ok","id":1,"at":20,"n":0,"lsn":"`+l+`","tl":1,"clk":3}`+"\n")))
		})
	}
	// A line longer than the reader's buffer.
	long := strings.Repeat("é\\\"x", 1<<19)
	sameAsReference(t, []byte(withPrefix("", `{"t":"fail","id":1,"at":20,"err":"`+long+`"}`+"\n")))
}

// TestLedgerParsersAgreeOnCases pins a few outcomes, so that agreement is
// not agreement on nothing.
func TestLedgerParsersAgreeOnCases(t *testing.T) {
	r := sameAsReference(t, []byte(withPrefix("", ledgerCases["escapes in err"])))
	if r.Err != "" || len(r.Errors) != 3 || r.Errors[1] != "ERROR: \"quoted\" \\ / \b\f\n\r\t é 😀 lone \ufffd \x00 end" {
		t.Errorf("escapes: %s", describe(r))
	}
	r = sameAsReference(t, []byte(withPrefix("", ledgerCases["reordered"])))
	if r.Err != "" || r.Ops[0].LSN.String() != "16/B374D848" || r.Ops[0].Node != 1 || r.Ops[3].Client != 7 || r.Truncated || r.End != 30 {
		t.Errorf("reordered: %s", describe(r))
	}
	r = sameAsReference(t, []byte(withPrefix("", ledgerCases["out of sequence"])))
	if r.Err != "ledger.jsonl line 7: write id 5 out of sequence (expected 4)" {
		t.Errorf("out of sequence: %s", describe(r))
	}
	r = sameAsReference(t, []byte(withPrefix("", ledgerCases["whole last line no nl"])))
	if r.Err != "" || r.Truncated || r.End != 30 {
		t.Errorf("whole last line: %s", describe(r))
	}
	r = sameAsReference(t, []byte(withPrefix("", ledgerCases["partial last line"])))
	if r.Err != "" || !r.Truncated || r.Ops[1].Outcome != Pending || r.End != 20 {
		t.Errorf("partial last line: %s", describe(r))
	}
}

// genLedger writes a ledger of n writes as the workload does: clients
// writes in flight at once, ~95% acknowledged, 3% failed, 2% unknown, a
// new node every n/3 writes, the end record when end is set.
func genLedger(n, clients int, seed uint64, end bool) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	var b bytes.Buffer
	b.WriteString(testHeader)
	errs := []string{`"ERROR: cannot execute INSERT in a read-only transaction (SQLSTATE 25006)"`, `"relation \"pgchaos_writes\" does not exist"`,
		`"timeout: context deadline exceeded"`, `"FATAL: terminating connection due to administrator command (SQLSTATE 57P01)"`}
	pending := make([]int64, clients)
	node, at, lsn := -1, int64(1000), LSN(0x3000000)
	outcome := func(c int) {
		id := pending[c]
		if id == 0 {
			return
		}
		pending[c] = 0
		switch p := r.IntN(100); {
		case p < 95:
			if want := int(id-1) * 3 / n; want > node {
				node = want
				fmt.Fprintf(&b, `{"t":"node","node":%d,"server":"10.0.0.%d:5432","instance":"pg-%d","sysid":"7311","started":"s%d"}`+"\n", node, node, node, node)
			}
			lsn += 0x98
			fmt.Fprintf(&b, `{"t":"ok","id":%d,"at":%d,"n":%d,"lsn":"%s","tl":%d,"clk":%d}`+"\n", id, at, node, lsn, node+1, 1763769600000000+at/1000)
		case p < 98:
			fmt.Fprintf(&b, `{"t":"fail","id":%d,"at":%d,"err":%s}`+"\n", id, at, errs[r.IntN(2)])
		default:
			fmt.Fprintf(&b, `{"t":"unk","id":%d,"at":%d,"err":%s}`+"\n", id, at, errs[2+r.IntN(2)])
		}
	}
	for id := int64(1); id <= int64(n); id++ {
		c := r.IntN(clients)
		outcome(c)
		at += 40000 + int64(r.IntN(20000))
		pending[c] = id
		b.WriteString(`{"t":"inv","id":` + strconv.FormatInt(id, 10) + `,"c":` + strconv.Itoa(c) + `,"at":` + strconv.FormatInt(at, 10) + "}\n")
	}
	if end {
		for c := range pending {
			at += 1000
			outcome(c)
		}
		fmt.Fprintf(&b, `{"t":"end","at":%d}`+"\n", at+1000)
	}
	return b.Bytes()
}

func TestLedgerParsersAgreeOnGenerated(t *testing.T) {
	for _, end := range []bool{true, false} {
		b := genLedger(20000, 8, 7, end)
		r := sameAsReference(t, b)
		if r.Err != "" || len(r.Ops) != 20000 || r.Truncated == end || len(r.Nodes) != 3 || len(r.Errors) != 5 {
			t.Fatalf("generated ledger (end %v): %d ops, %d nodes, errors %q, truncated %v, %s", end, len(r.Ops), len(r.Nodes), r.Errors, r.Truncated, r.Err)
		}
		// Cut anywhere: the prefix reads alike.
		for _, cut := range []int{len(b) - 1, len(b) - 17, len(b) / 2, len(b)/2 + 33} {
			sameAsReference(t, b[:cut])
		}
	}
}

// FuzzLedgerParsers: any ledger, read by the fast reader and by the
// reference (encoding/json for every line), gives the same trial or the
// same error. Each input is read as is and after a header, two nodes and
// three invocations (so its lines reach the hot records' parser).
func FuzzLedgerParsers(f *testing.F) {
	for _, body := range ledgerCases {
		f.Add([]byte(body))
	}
	for _, l := range lsnCases {
		f.Add([]byte(`{"t":"ok","id":1,"at":20,"n":0,"lsn":"` + l + `","tl":1,"clk":3}` + "\n"))
	}
	f.Add(genLedger(30, 4, 1, true)[len(testHeader):])
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAsReference(t, body)
		sameAsReference(t, []byte(withPrefix("", string(body))))
	})
}

func TestLedgerCapacity(t *testing.T) {
	dir := t.TempDir()
	b := genLedger(5000, 8, 3, true)
	p := filepath.Join(dir, LedgerFile)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := ledgerCapacity(f, int64(len(b))); got != 5000 {
		t.Errorf("ledgerCapacity = %d, want 5000 (the last invocation's id)", got)
	}
	tr, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Ops) != 5000 || cap(tr.Ops) != 5000 {
		t.Errorf("Load: %d ops in a capacity of %d, want 5000 in 5000", len(tr.Ops), cap(tr.Ops))
	}
	// No invocation in the tail, or a bogus id: a guess from the size, never
	// more than the file could hold.
	small := []byte(testHeader + `{"t":"inv","id":99999999,"c":0,"at":1}` + "\n")
	if got := ledgerCapacity(bytes.NewReader(small), int64(len(small))); got > len(small)/32 {
		t.Errorf("ledgerCapacity of a bogus id = %d, more than the file holds", got)
	}
	tail := append(append([]byte(nil), b...), bytes.Repeat([]byte(`{"t":"unk","id":1,"at":1,"err":"`+strings.Repeat("x", 1000)+`"}`+"\n"), 100)...)
	if got := ledgerCapacity(bytes.NewReader(tail), int64(len(tail))); got != len(tail)/128 {
		t.Errorf("ledgerCapacity without an invocation in the tail = %d, want %d", got, len(tail)/128)
	}
}

// BenchmarkReadLedger reads a trial whose ledger holds 1 million writes
// with Load; the Reference variant reads the same file with the reader
// before the hand-written parser (encoding/json for every line).
func BenchmarkReadLedger(b *testing.B) {
	dir := b.TempDir()
	data := genLedger(1_000_000, 8, 5, true)
	if err := os.WriteFile(filepath.Join(dir, LedgerFile), data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("Fast", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for range b.N {
			if _, err := Load(dir); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(1e6*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("Reference", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for range b.N {
			if r := readWith(data, readReference); r.Err != "" {
				b.Fatal(r.Err)
			}
		}
		b.ReportMetric(1e6*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}

// TestScanInt compares the word-at-a-time integer scanner with a plain one
// on digit runs of every length, at every offset, with every kind of byte
// after them.
func TestScanInt(t *testing.T) {
	ref := func(b []byte, i int) (int64, int, bool) {
		j := i
		if j < len(b) && b[j] == '-' {
			j++
		}
		s := j
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
		if d := j - s; d == 0 || d > 18 || (d > 1 && b[s] == '0') {
			return 0, 0, false
		}
		v, err := strconv.ParseInt(string(b[i:j]), 10, 64)
		if err != nil {
			t.Fatalf("reference: %v", err)
		}
		return v, j, true
	}
	check := func(b []byte, i int) {
		v, end, ok := scanInt(b, i)
		wv, wend, wok := ref(b, i)
		if v != wv || end != wend || ok != wok {
			t.Fatalf("scanInt(%q, %d) = %d, %d, %v; want %d, %d, %v", b, i, v, end, ok, wv, wend, wok)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	after := []string{"", "}", "}\n", ",\"at\":1}\n", "/", ":", "\x00", "\xff", " ", ".5", "e3", "0123456789", "\x7f\x80\xb9\xba"}
	for n := 0; n <= 22; n++ {
		for _, a := range after {
			for _, pre := range []string{"", "-", "--", "x", `"id":`} {
				digits := make([]byte, n)
				for k := range digits {
					digits[k] = byte('0' + r.IntN(10))
				}
				for _, lead := range []string{"", "0", "9"} {
					b := []byte(pre + lead + string(digits) + a)
					for i := 0; i <= len(pre); i++ {
						check(b, i)
					}
				}
			}
		}
	}
	alphabet := []byte("0123456789-}, /:\x00\xff\x2f\x3a\x80\xb9")
	for range 200000 {
		b := make([]byte, r.IntN(30))
		for k := range b {
			if r.IntN(3) == 0 {
				b[k] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[k] = byte('0' + r.IntN(10))
			}
		}
		check(b, r.IntN(len(b)+1))
	}
}
