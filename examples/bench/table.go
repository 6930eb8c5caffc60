package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"unicode/utf8"
)

// row is one line of the table: one figure of one case, with a sample per
// repetition.
type row struct {
	scenario string
	metric   string
	format   func(float64) string
	samples  []float64
	base     *row    // the baseline this row is compared with, if any
	target   *target // the goal this row is judged against, if any
}

// target is a performance target, judged on a row's median.
type target struct {
	text string
	ok   func(*row) (bool, bool) // met, judgeable
}

// atLeastTimes is met when the median is at least x times the baseline's.
func atLeastTimes(x float64) *target {
	return &target{
		text: fmt.Sprintf(">= %.2gx baseline", x),
		ok: func(r *row) (bool, bool) {
			q, ok := r.ratio()
			return ok && q >= x, ok
		},
	}
}

// atMostTimes is met when the median is at most x times the baseline's.
func atMostTimes(x float64) *target {
	return &target{
		text: fmt.Sprintf("<= %.2gx baseline", x),
		ok: func(r *row) (bool, bool) {
			q, ok := r.ratio()
			return ok && q <= x, ok
		},
	}
}

// atMost is met when the median is at most v (in the row's unit).
func atMost(v float64, text string) *target {
	return &target{
		text: "<= " + text,
		ok: func(r *row) (bool, bool) {
			m, ok := r.median()
			return ok && m <= v, ok
		},
	}
}

func (r *row) add(v float64) {
	if !math.IsNaN(v) {
		r.samples = append(r.samples, v)
	}
}

func (r *row) sorted() []float64 {
	s := append([]float64(nil), r.samples...)
	sort.Float64s(s)
	return s
}

func (r *row) median() (float64, bool) {
	s := r.sorted()
	switch n := len(s); {
	case n == 0:
		return 0, false
	case n%2 == 1:
		return s[n/2], true
	default:
		return (s[n/2-1] + s[n/2]) / 2, true
	}
}

func (r *row) ratio() (float64, bool) {
	if r.base == nil {
		return 0, false
	}
	m, ok := r.median()
	b, bok := r.base.median()
	if !ok || !bok || b == 0 {
		return 0, false
	}
	return m / b, true
}

// table collects rows in the order they were first asked for.
type table struct {
	rows  []*row
	index map[string]*row
}

func newTable() *table { return &table{index: map[string]*row{}} }

// row returns the row of scenario and metric, creating it on first use.
func (t *table) row(scenario, metric string, format func(float64) string) *row {
	k := scenario + "\x00" + metric
	if r := t.index[k]; r != nil {
		return r
	}
	r := &row{scenario: scenario, metric: metric, format: format}
	t.index[k] = r
	t.rows = append(t.rows, r)
	return r
}

func (t *table) print(w io.Writer) {
	cells := [][]string{{"case", "metric", "min", "median", "max", "baseline", "ratio", "target", "status"}}
	prev := ""
	for _, r := range t.rows {
		if len(r.samples) == 0 {
			continue
		}
		group := strings.SplitN(r.scenario, " ", 2)[0]
		if prev != "" && group != prev {
			cells = append(cells, nil)
		}
		prev = group
		s := r.sorted()
		med, _ := r.median()
		base, ratio := "", ""
		if r.base != nil {
			if b, ok := r.base.median(); ok {
				base = r.base.format(b)
			}
			if q, ok := r.ratio(); ok {
				ratio = fmt.Sprintf("%.2fx", q)
			}
		}
		goal, status := "", ""
		if r.target != nil {
			goal = r.target.text
			met, ok := r.target.ok(r)
			switch {
			case !ok:
				status = "n/a"
			case met:
				status = "met"
			default:
				status = "NOT MET"
			}
		}
		cells = append(cells, []string{r.scenario, r.metric, r.format(s[0]), r.format(med), r.format(s[len(s)-1]), base, ratio, goal, status})
	}
	width := make([]int, len(cells[0]))
	for _, c := range cells {
		for i, v := range c {
			width[i] = max(width[i], utf8.RuneCountInString(v))
		}
	}
	left := map[int]bool{0: true, 1: true, 7: true, 8: true}
	var b strings.Builder
	for _, c := range cells {
		line := make([]string, len(c))
		for i, v := range c {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(v))
			if left[i] {
				line[i] = v + pad
			} else {
				line[i] = pad + v
			}
		}
		b.WriteString(strings.TrimRight(strings.Join(line, "  "), " "))
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

// Number formats.

func fmtRate(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return fmt.Sprintf("%.2fM/s", v/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.1fk/s", v/1e3)
	}
	return fmt.Sprintf("%.0f/s", v)
}

func fmtNanos(v float64) string {
	if v >= 1e4 {
		return fmt.Sprintf("%.0fµs", v/1e3)
	}
	return fmt.Sprintf("%.2fµs", v/1e3)
}

func fmtMicros(v float64) string { return fmt.Sprintf("%.0fµs", v) }

func fmtKiB(v float64) string { return fmt.Sprintf("%.1fKiB", v/1024) }

func fmtBytes(v float64) string { return fmt.Sprintf("%.0fB", v) }

func fmtMiB(v float64) string { return fmt.Sprintf("%.1fMiB", v/(1<<20)) }

func fmtCount(v float64) string { return fmt.Sprintf("%.2f", v) }

func fmtMillis(v float64) string { return fmt.Sprintf("%.0fms", v) }
