package gameday

import (
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// View is the terminal view of a game day (Bubble Tea): the live snapshot,
// and keys: c (a waiting step goes on), n (type a note, Enter writes it on
// the timeline, Esc drops it), a or Ctrl-C (abort: every fault reverted).
type View struct {
	title  string
	snap   Snapshot
	cont   chan<- struct{}
	notes  chan<- string
	abort  func()
	noting bool
	note   []rune
	ended  string
}

// SnapMsg carries a snapshot to the view; EndMsg ends it with a last line.
type (
	SnapMsg Snapshot
	EndMsg  string
)

// NewView returns the view of plan title; cont, notes and abort are the
// runner's controls (cont must be buffered or read promptly).
func NewView(title string, cont chan<- struct{}, notes chan<- string, abort func()) *View {
	return &View{title: title, cont: cont, notes: notes, abort: abort}
}

// Init implements tea.Model.
func (v *View) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (v *View) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch m := msg.(type) {
	case SnapMsg:
		v.snap = Snapshot(m)
	case EndMsg:
		v.ended = string(m)
		return v, tea.Quit
	case tea.KeyMsg:
		if v.noting {
			switch m.Type {
			case tea.KeyEnter:
				if n := strings.TrimSpace(string(v.note)); n != "" {
					select {
					case v.notes <- n:
					default:
					}
				}
				v.noting, v.note = false, nil
			case tea.KeyEsc:
				v.noting, v.note = false, nil
			case tea.KeyBackspace:
				if len(v.note) > 0 {
					v.note = v.note[:len(v.note)-1]
				}
			case tea.KeySpace:
				v.note = append(v.note, ' ')
			case tea.KeyRunes:
				v.note = append(v.note, m.Runes...)
			case tea.KeyCtrlC:
				v.abort()
			}
			return v, nil
		}
		switch m.String() {
		case "c":
			select {
			case v.cont <- struct{}{}:
			default:
			}
		case "n":
			v.noting = true
		case "a", "ctrl+c":
			v.abort()
		}
	}
	return v, nil
}

// View implements tea.Model.
func (v *View) View() string {
	s := v.snap
	var b strings.Builder
	fmt.Fprintf(&b, "pgchaos game day %q — %s", v.title, s.Elapsed.Round(time.Second))
	if s.Steps > 0 {
		fmt.Fprintf(&b, " — step %d of %d", s.Step, s.Steps)
	}
	if s.Waiting {
		b.WriteString(" — WAITING: press c to go on")
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "writes  acknowledged %d (%.0f/s)  failed %d (%.0f/s)  unknown %d\n", s.OK, s.AckRate, s.Failed, s.FailRate, s.Unknown)
	if s.Unavailable > 0 {
		fmt.Fprintf(&b, "UNAVAILABLE for %.1fs: no write acknowledged\n", s.Unavailable.Seconds())
	} else {
		b.WriteString("writes flowing\n")
	}
	b.WriteString("\ninstance          role         timeline  lag\n")
	for _, in := range s.Instances {
		lag := "—"
		if in.Role == "replica" {
			lag = fmt.Sprintf("%d B", in.LagBytes)
			if !in.Streaming {
				lag += " (not streaming)"
			}
		}
		fmt.Fprintf(&b, "%-17s %-12s %-9d %s\n", in.Name, in.Role, in.Timeline, lag)
	}
	b.WriteString("\n")
	if s.Fault != "" {
		fmt.Fprintf(&b, "FAULT %s — reverted in %.0fs\n", s.Fault, s.Deadline.Seconds())
	} else {
		b.WriteString("no fault applied\n")
	}
	b.WriteString("\nevents\n")
	for _, l := range s.Log {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("\n")
	switch {
	case v.ended != "":
		b.WriteString(v.ended + "\n")
	case v.noting:
		fmt.Fprintf(&b, "note> %s_   (Enter writes it on the timeline, Esc drops it)\n", string(v.note))
	default:
		b.WriteString("c continue · n note · a abort (every fault reverted)\n")
	}
	return b.String()
}
