package reports

import (
	"math"
	"strconv"
	"time"
)

// linear maps the domain [D0, D1] onto the range [R0, R1] (pixels; R1 may
// be below R0 for a y axis that grows upwards).
type linear struct{ D0, D1, R0, R1 float64 }

// At maps x; a degenerate domain maps everything to R0.
func (s linear) At(x float64) float64 {
	if s.D1 == s.D0 {
		return s.R0
	}
	return s.R0 + (x-s.D0)*(s.R1-s.R0)/(s.D1-s.D0)
}

// logScale maps [D0, D1] (both > 0) onto [R0, R1] logarithmically; values
// outside the domain are clamped to it.
type logScale struct{ D0, D1, R0, R1 float64 }

// At maps x.
func (s logScale) At(x float64) float64 {
	x = math.Min(math.Max(x, s.D0), s.D1)
	return linear{math.Log10(s.D0), math.Log10(s.D1), s.R0, s.R1}.At(math.Log10(x))
}

// niceStep returns the 1, 2 or 5 × 10^k at or above raw (> 0).
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// NiceTicks returns round tick values, 1, 2 or 5 × 10^k apart, from the
// first multiple of the step at or above lo to hi, about n of them (at
// least two when hi > lo).
func NiceTicks(lo, hi float64, n int) []float64 {
	if n < 1 {
		n = 1
	}
	if hi <= lo {
		return []float64{lo}
	}
	step := niceStep((hi - lo) / float64(n))
	var out []float64
	for i := math.Ceil(lo/step - 1e-9); ; i++ {
		v := i * step
		if v > hi*(1+1e-9)+1e-12 {
			break
		}
		// Round away the binary noise of i*step (0.30000000000000004).
		out = append(out, roundTo(v, step))
	}
	return out
}

// NiceMax rounds a chart's maximum up to a round number (1, 2, 2.5, 5 ×
// 10^k), at least 1.
func NiceMax(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

func roundTo(v, step float64) float64 {
	d := math.Max(0, -math.Floor(math.Log10(step))+1)
	p := math.Pow(10, d)
	r := math.Round(v*p) / p
	if r == 0 {
		return 0 // not -0
	}
	return r
}

// LogTicks returns the ticks of a log axis over [lo, hi] (both > 0): the
// powers of ten in it, and the 2 and 5 multiples too when it spans less
// than two decades.
func LogTicks(lo, hi float64) []float64 {
	if lo <= 0 || hi <= lo {
		return nil
	}
	var out []float64
	mults := []float64{1}
	if math.Log10(hi/lo) < 2 {
		mults = []float64{1, 2, 5}
	}
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range mults {
			v := m * math.Pow(10, e)
			if v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
				out = append(out, v)
			}
		}
	}
	return out
}

// LogDomain returns a log axis domain covering [lo, hi] (seconds > 0),
// widened to whole decades, and at least one decade wide.
func LogDomain(lo, hi float64) (float64, float64) {
	if lo <= 0 {
		lo = 1e-4
	}
	if hi < lo {
		hi = lo
	}
	d0 := math.Pow(10, math.Floor(math.Log10(lo)))
	d1 := math.Pow(10, math.Ceil(math.Log10(hi)))
	if d1 <= d0 {
		d1 = d0 * 10
	}
	return d0, d1
}

// fmtSeconds formats a time offset of a chart axis: "0 s", "2.5 s", "90 s".
func fmtSeconds(s float64) string {
	return strconv.FormatFloat(s, 'f', -1, 64) + " s"
}

// fmtLatency formats a latency in seconds with a unit people read: "850 µs",
// "12 ms", "1.5 s".
func fmtLatency(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', -1, 64) + " µs"
	case d < time.Second:
		return strconv.FormatFloat(math.Round(float64(d)/float64(time.Millisecond)*10)/10, 'f', -1, 64) + " ms"
	default:
		return strconv.FormatFloat(math.Round(d.Seconds()*100)/100, 'f', -1, 64) + " s"
	}
}

// fmtCount formats a count with thin grouping: 12345 -> "12,345".
func fmtCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := false
	if n < 0 {
		neg, s = true, s[1:]
	}
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	if neg {
		return "-" + string(b)
	}
	return string(b)
}
