package history

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"runtime"
	"slices"
	"unicode/utf8"
)

// The ledger's hot records (inv, ok, fail, unk: all but a handful of its
// lines) are read by a hand-written parser. It accepts a line only when it
// is certain encoding/json would decode it into ledgerRecord without error
// and to the same values: one JSON object of known, distinct, exactly
// spelled keys (t id c at n lsn tl clk err, in any order), integers without
// fraction or exponent and within their field's range, strings without
// control characters (and, for t and lsn, without escapes), an ok record's
// lsn well formed. Anything else, however valid, goes to encoding/json and
// the rules of readLedger, which give the same result or the same error.

// recKind is the type of a hot record.
type recKind uint8

const (
	recInv recKind = iota + 1
	recOK
	recFail
	recUnk
)

// hotRecord is one inv, ok, fail or unk record, from either parser.
type hotRecord struct {
	kind    recKind
	id, at  int64
	clk     int64
	n       int
	hasN    bool
	c, tl   uint32
	lsn     LSN
	lsnText string // from encoding/json: parsed when the record is applied
	lsnDone bool   // lsn holds the parsed value (the hand-written parser)
	err     string // decoded
}

// Key bits of the hand-written parser.
const (
	keyT = 1 << iota
	keyID
	keyC
	keyAt
	keyN
	keyLSN
	keyTL
	keyClk
	keyErr
)

// ledgerParser is the hand-written parser's state: decoded error messages
// by their raw JSON text, so a message repeated on many lines is decoded once.
type ledgerParser struct {
	errs map[string]string
}

// maxErrCache bounds ledgerParser.errs: past it, messages are decoded each time.
const maxErrCache = 4096

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isJSONSpace(b[i]) {
		i++
	}
	return i
}

// scanString reads the JSON string starting at b[i] == '"'. It returns the
// index past its closing quote and whether it holds escapes; ok is false
// when it is not a valid JSON string.
func scanString(b []byte, i int) (end int, escaped, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false, false
	}
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, true
		case c < 0x20:
			return 0, false, false
		case c == '\\':
			escaped = true
			i++
			if i >= len(b) {
				return 0, false, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return 0, false, false
				}
				for _, h := range b[i+1 : i+5] {
					if hexVal(h) < 0 {
						return 0, false, false
					}
				}
				i += 4
			default:
				return 0, false, false
			}
		}
	}
	return 0, false, false
}

func hexVal(c byte) int { return int(hexTable[c]) }

// hexTable maps a byte to its value as a hex digit, -1 when it is not one.
var hexTable = func() (t [256]int8) {
	for c := range t {
		switch {
		case '0' <= c && c <= '9':
			t[c] = int8(c - '0')
		case 'a' <= c && c <= 'f':
			t[c] = int8(c-'a') + 10
		case 'A' <= c && c <= 'F':
			t[c] = int8(c-'A') + 10
		default:
			t[c] = -1
		}
	}
	return t
}()

// scanInt reads a JSON integer (no fraction, no exponent: what follows is
// checked by the caller) of at most 18 digits, so it never overflows int64.
func scanInt(b []byte, i int) (v int64, end int, ok bool) {
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	start := i
	for i < len(b) && b[i]-'0' <= 9 {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	switch d := i - start; {
	case d == 0, d > 18:
		return 0, 0, false
	case d > 1 && b[start] == '0':
		return 0, 0, false // a leading zero: not JSON
	}
	if neg {
		v = -v
	}
	return v, i, true
}

// scanUint32 reads a JSON integer that fits a uint32 (no sign).
func scanUint32(b []byte, i int) (uint32, int, bool) {
	if i < len(b) && b[i] == '-' {
		return 0, 0, false
	}
	v, end, ok := scanInt(b, i)
	if !ok || v > math.MaxUint32 {
		return 0, 0, false
	}
	return uint32(v), end, true
}

// parseLSNBytes parses "X/X" as ParseLSN does; ok is false for anything it
// would refuse.
func parseLSNBytes(b []byte) (LSN, bool) {
	slash := bytes.IndexByte(b, '/')
	if slash < 0 {
		return 0, false
	}
	hi, ok1 := parseHex32(b[:slash])
	lo, ok2 := parseHex32(b[slash+1:])
	return LSN(hi<<32 | lo), ok1 && ok2
}

func parseHex32(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		h := hexVal(c)
		if h < 0 {
			return 0, false
		}
		v = v<<4 | uint64(h)
		if v > math.MaxUint32 {
			return 0, false
		}
	}
	return v, true
}

// decodeErr returns the text of the JSON string raw (quotes included), as
// encoding/json decodes it.
func (p *ledgerParser) decodeErr(raw []byte, escaped bool) (string, bool) {
	if s, ok := p.errs[string(raw)]; ok {
		return s, true
	}
	var s string
	inner := raw[1 : len(raw)-1]
	if !escaped && utf8.Valid(inner) {
		s = string(inner)
	} else if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	if p.errs == nil {
		p.errs = map[string]string{}
	}
	if len(p.errs) < maxErrCache {
		p.errs[string(raw)] = s
	}
	return s, true
}

// parse reads one line as a hot record. It returns false when the line is
// not one it is sure of; the caller then decodes it with encoding/json.
func (p *ledgerParser) parse(line []byte, r *hotRecord) bool {
	if p.canonical(line, r) {
		return true
	}
	*r = hotRecord{}
	return p.general(line, r)
}

// lit consumes the literal s at b[i:].
func lit(b []byte, i int, s string) (int, bool) {
	if len(b)-i >= len(s) && string(b[i:i+len(s)]) == s {
		return i + len(s), true
	}
	return 0, false
}

// canonical reads a hot record laid out exactly as Ledger writes it (keys
// in its order, no spaces): the common case, read without looking keys up.
// Anything else returns false, for general.
func (p *ledgerParser) canonical(b []byte, r *hotRecord) bool {
	i, ok := lit(b, 0, `{"t":"`)
	if !ok || i+4 > len(b) {
		return false
	}
	switch b[i] {
	case 'i':
		if i, ok = lit(b, i, `inv","id":`); !ok {
			return false
		}
		r.kind = recInv
		if r.id, i, ok = scanInt(b, i); !ok {
			return false
		}
		if i, ok = lit(b, i, `,"c":`); !ok {
			return false
		}
		if r.c, i, ok = scanUint32(b, i); !ok {
			return false
		}
		if i, ok = lit(b, i, `,"at":`); !ok {
			return false
		}
		if r.at, i, ok = scanInt(b, i); !ok {
			return false
		}
	case 'o':
		if i, ok = lit(b, i, `ok","id":`); !ok {
			return false
		}
		r.kind = recOK
		if r.id, i, ok = scanInt(b, i); !ok {
			return false
		}
		if i, ok = lit(b, i, `,"at":`); !ok {
			return false
		}
		if r.at, i, ok = scanInt(b, i); !ok {
			return false
		}
		if i, ok = lit(b, i, `,"n":`); !ok {
			return false
		}
		var n int64
		if n, i, ok = scanInt(b, i); !ok || n > math.MaxInt || n < math.MinInt {
			return false
		}
		r.n, r.hasN = int(n), true
		if i, ok = lit(b, i, `,"lsn":"`); !ok {
			return false
		}
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return false
		}
		if r.lsn, ok = parseLSNBytes(b[i : i+q]); !ok {
			return false
		}
		r.lsnDone = true
		if i, ok = lit(b, i+q, `","tl":`); !ok {
			return false
		}
		if r.tl, i, ok = scanUint32(b, i); !ok {
			return false
		}
		if i, ok = lit(b, i, `,"clk":`); !ok {
			return false
		}
		if r.clk, i, ok = scanInt(b, i); !ok {
			return false
		}
	case 'f', 'u':
		j, ok := lit(b, i, `fail","id":`)
		r.kind = recFail
		if !ok {
			j, ok = lit(b, i, `unk","id":`)
			r.kind = recUnk
		}
		if !ok {
			return false
		}
		i = j
		if r.id, i, ok = scanInt(b, i); !ok {
			return false
		}
		if i, ok = lit(b, i, `,"at":`); !ok {
			return false
		}
		if r.at, i, ok = scanInt(b, i); !ok {
			return false
		}
		if i, ok = lit(b, i, `,"err":`); !ok {
			return false
		}
		end, esc, ok := scanString(b, i)
		if !ok {
			return false
		}
		if r.err, ok = p.decodeErr(b[i:end], esc); !ok {
			return false
		}
		i = end
	default:
		return false
	}
	return i < len(b) && b[i] == '}' && skipSpace(b, i+1) == len(b)
}

// general reads a hot record with its keys in any order and any spacing.
func (p *ledgerParser) general(line []byte, r *hotRecord) bool {
	b := line
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	var (
		seen    uint16
		errRaw  []byte
		errEsc  bool
		lsnRaw  []byte
		lsnPlan bool // the lsn is a string without escapes
	)
	for {
		// The key: only the exact spellings below are known here.
		if i >= len(b) || b[i] != '"' {
			return false
		}
		j := i + 1
		for j < len(b) && b[j] != '"' && b[j] != '\\' && b[j] >= 0x20 {
			j++
		}
		if j >= len(b) || b[j] != '"' {
			return false
		}
		var k uint16
		switch string(b[i+1 : j]) {
		case "t":
			k = keyT
		case "id":
			k = keyID
		case "c":
			k = keyC
		case "at":
			k = keyAt
		case "n":
			k = keyN
		case "lsn":
			k = keyLSN
		case "tl":
			k = keyTL
		case "clk":
			k = keyClk
		case "err":
			k = keyErr
		default:
			return false
		}
		if seen&k != 0 {
			return false // a repeated key: encoding/json keeps the last
		}
		seen |= k
		i = skipSpace(b, j+1)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		var ok bool
		switch k {
		case keyT:
			var end int
			var esc bool
			if end, esc, ok = scanString(b, i); !ok || esc {
				return false
			}
			switch string(b[i+1 : end-1]) {
			case "inv":
				r.kind = recInv
			case "ok":
				r.kind = recOK
			case "fail":
				r.kind = recFail
			case "unk":
				r.kind = recUnk
			default:
				return false
			}
			i = end
		case keyID:
			r.id, i, ok = scanInt(b, i)
		case keyAt:
			r.at, i, ok = scanInt(b, i)
		case keyClk:
			r.clk, i, ok = scanInt(b, i)
		case keyN:
			var v int64
			v, i, ok = scanInt(b, i)
			if ok && (v > math.MaxInt || v < math.MinInt) {
				return false
			}
			r.n, r.hasN = int(v), true
		case keyC:
			r.c, i, ok = scanUint32(b, i)
		case keyTL:
			r.tl, i, ok = scanUint32(b, i)
		case keyLSN:
			var end int
			var esc bool
			if end, esc, ok = scanString(b, i); ok {
				lsnRaw, lsnPlan = b[i+1:end-1], !esc
				i = end
			}
		case keyErr:
			var end int
			if end, errEsc, ok = scanString(b, i); ok {
				errRaw = b[i:end]
				i = end
			}
		}
		if !ok {
			return false
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			i++
			break
		}
		if b[i] != ',' {
			return false
		}
		i = skipSpace(b, i+1)
	}
	if skipSpace(b, i) != len(b) || seen&keyT == 0 {
		return false
	}
	switch r.kind {
	case recOK:
		// A missing, escaped or malformed LSN: encoding/json's path says why.
		if !lsnPlan {
			return false
		}
		v, ok := parseLSNBytes(lsnRaw)
		if !ok {
			return false
		}
		r.lsn, r.lsnDone = v, true
	case recFail, recUnk:
		if errRaw != nil {
			s, ok := p.decodeErr(errRaw, errEsc)
			if !ok {
				return false
			}
			r.err = s
		}
	}
	return true
}

// ledgerCapacity guesses how many writes a ledger of size bytes holds, to
// size Trial.Ops once: the id of the last invocation in its last 64 KiB
// (ids are dense and in order), else size/128 (a typical ledger spends
// about 145 bytes on a write). Never more than the file could hold.
func ledgerCapacity(f io.ReaderAt, size int64) int {
	const minInv = int64(len(`{"t":"inv","id":1,"c":0,"at":0}` + "\n"))
	limit := size / minInv
	guess := size / 128
	tail := min(size, 64<<10)
	buf := make([]byte, tail)
	if n, err := f.ReadAt(buf, size-tail); err == nil || err == io.EOF {
		buf = buf[:n]
		const marker = `{"t":"inv","id":`
		if k := bytes.LastIndex(buf, []byte(marker)); k >= 0 {
			if v, _, ok := scanInt(buf, k+len(marker)); ok && v > 0 {
				guess = v
			}
		}
	}
	return int(min(guess, limit))
}

// ledgerChunkSize is how many bytes of the ledger a worker parses at a time
// (about 900 lines: the chunks in flight hold about 1 MiB in all).
const ledgerChunkSize = 64 << 10

// parsedLine is one non-blank line of a chunk, parsed by a worker.
type parsedLine struct {
	start, end int // the line in ledgerChunk.buf, newline included
	no         int
	parsed     bool // rec holds the line (the hand-written parser was sure)
	rec        hotRecord
}

// ledgerChunk is a run of whole lines of the ledger, read by parseLines'
// reader, parsed by a worker, applied in order, then reused.
type ledgerChunk struct {
	buf     []byte
	whole   int // buf[:whole] holds whole lines
	firstNo int // number of the first of them
	lines   []parsedLine
	// The last chunk: partial is a last line without newline (buf[whole:],
	// when not blank), err a read error.
	last    bool
	partial []byte
	err     error
	done    chan struct{}
}

// parseLines is lines for the ledger, with the hand-written parser run by
// workers (GOMAXPROCS of them) on chunks of about size bytes, and apply
// called in order, here, on every non-blank line with its number, as lines
// would: parsed says whether rec holds it. Its partial and err are lines'.
func parseLines(r io.Reader, size int, apply func(no int, line []byte, rec *hotRecord, parsed bool) error) (partial []byte, err error) {
	workers := max(1, runtime.GOMAXPROCS(0))
	n := 2*workers + 2 // chunks in flight: the memory used is bounded
	free := make(chan *ledgerChunk, n)
	for range n {
		free <- &ledgerChunk{buf: make([]byte, 0, size), lines: make([]parsedLine, 0, size/64+1), done: make(chan struct{}, 1)}
	}
	work := make(chan *ledgerChunk, n)
	ordered := make(chan *ledgerChunk, n)
	stop := make(chan struct{})
	defer close(stop)
	go readChunks(r, size, free, work, ordered, stop)
	for range workers {
		go func() {
			var p ledgerParser
			for c := range work {
				c.lines = c.lines[:0]
				no := c.firstNo
				for i := 0; i < c.whole; no++ {
					k := i + bytes.IndexByte(c.buf[i:c.whole], '\n') + 1
					if line := c.buf[i:k]; len(bytes.TrimSpace(line)) > 0 {
						c.lines = append(c.lines, parsedLine{start: i, end: k, no: no})
						pl := &c.lines[len(c.lines)-1]
						pl.parsed = p.parse(line, &pl.rec)
					}
					i = k
				}
				c.done <- struct{}{}
			}
		}()
	}
	for {
		c := <-ordered
		<-c.done
		for i := range c.lines {
			pl := &c.lines[i]
			if err := apply(pl.no, c.buf[pl.start:pl.end], &pl.rec, pl.parsed); err != nil {
				return nil, err
			}
		}
		if c.last {
			return c.partial, c.err
		}
		free <- c
	}
}

// readChunks reads r into chunks of whole lines (a longer line grows its
// chunk), numbers them, and hands each to the workers and, in order, to
// the applier; the last one carries the partial last line or the read error.
func readChunks(r io.Reader, size int, free <-chan *ledgerChunk, work, ordered chan<- *ledgerChunk, stop <-chan struct{}) {
	defer close(work)
	var carry []byte // the start of a line the previous chunk cut
	no := 1
	for {
		var c *ledgerChunk
		select {
		case c = <-free:
		case <-stop:
			return
		}
		buf := append(c.buf[:0], carry...)
		var rerr error
		for empty := 0; ; {
			for len(buf) < cap(buf) && rerr == nil {
				var m int
				m, rerr = r.Read(buf[len(buf):cap(buf)])
				buf = buf[:len(buf)+m]
				if m > 0 {
					empty = 0
				} else if empty++; empty == 100 && rerr == nil {
					rerr = io.ErrNoProgress // as bufio says of such a reader
				}
			}
			if rerr != nil || bytes.IndexByte(buf[len(carry):], '\n') >= 0 {
				break
			}
			buf = slices.Grow(buf, cap(buf)) // no newline yet: a long line
		}
		c.buf, c.firstNo = buf, no
		c.whole = bytes.LastIndexByte(buf, '\n') + 1
		no += bytes.Count(buf[:c.whole], []byte{'\n'})
		carry = append(carry[:0], buf[c.whole:]...)
		if rerr != nil {
			c.last = true
			if rerr == io.EOF {
				if rest := buf[c.whole:]; len(bytes.TrimSpace(rest)) > 0 {
					c.partial = rest
				}
			} else {
				c.err = rerr
			}
		}
		work <- c
		ordered <- c
		if c.last {
			return
		}
	}
}
