package status

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// chart is the geometry of a timeline's stacked bar chart, computed here
// so the template only places what it is given. Coordinates are in the
// SVG's viewBox units, already formatted.
type chart struct {
	Width, Height int
	// Plot area edges.
	Left, Top, Right, Bottom string
	// TickEnd is where the x-axis tick marks end, below the axis.
	TickEnd string
	// YLabelX and YLabelY place the rotated y-axis title.
	YLabelX, YLabelY string
	XLabelX, XLabelY string
	XLabel, YLabel   string
	YTicks, XTicks   []tick
	Bars             []bar
	Legend           []legendItem
	// Empty: no entries in the window; the plot says so.
	Empty bool
	// Summary describes the chart in words for screen readers.
	Summary string
}

type tick struct {
	Pos, Label string
	// LabelPos places the label (beside the y axis, under the x axis).
	LabelPos string
}

type bar struct {
	X, Y, W, H string
	Class      string
	Title      string
}

type legendItem struct {
	Series, Class string
	Total         int
}

// Chart layout, in viewBox units.
const (
	chartWidth   = 760
	chartHeight  = 250
	chartLeft    = 56
	chartRight   = chartWidth - 12
	chartTop     = 12
	chartBottom  = chartHeight - 46
	maxXLabels   = 9
	barFill      = 0.72 // of a bucket's width
	chartYTicks  = 5
	chartTimeFmt = "15:04"
)

func newChart(tl Timeline, w Window) chart {
	c := chart{Width: chartWidth, Height: chartHeight,
		Left: num(chartLeft), Top: num(chartTop), Right: num(chartRight), Bottom: num(chartBottom), TickEnd: num(chartBottom + 4),
		YLabelX: num(14), YLabelY: num((chartTop + chartBottom) / 2),
		XLabelX: num((chartLeft + chartRight) / 2), XLabelY: num(chartHeight - 6),
		XLabel: "time (UTC), one bar per " + Span(w.Bucket()),
		YLabel: "actions per " + Span(w.Bucket()),
	}
	n := len(tl.Buckets)
	if n == 0 {
		c.Empty = true
		return c
	}
	peak, total := 0, 0
	totals := map[string]int{}
	for _, b := range tl.Buckets {
		peak = max(peak, b.Total())
		for s, v := range b.Counts {
			totals[s] += v
			total += v
		}
	}
	c.Empty = total == 0
	top, step := yScale(peak)
	plotH := float64(chartBottom - chartTop)
	y := func(v int) float64 { return chartBottom - float64(v)/float64(top)*plotH }
	for v := 0; v <= top; v += step {
		c.YTicks = append(c.YTicks, tick{Pos: num(y(v)), Label: strconv.Itoa(v), LabelPos: num(chartLeft - 6)})
	}

	slot := float64(chartRight-chartLeft) / float64(n)
	every := xLabelEvery(n, w.Bucket())
	for i, b := range tl.Buckets {
		x := chartLeft + float64(i)*slot
		if labelled(b.Start, w.Bucket(), every) {
			label := b.Start.UTC().Format(chartTimeFmt)
			if b.Start.UTC().Hour() == 0 && b.Start.UTC().Minute() == 0 {
				label = b.Start.UTC().Format("Jan 2")
			}
			c.XTicks = append(c.XTicks, tick{Pos: num(x), Label: label, LabelPos: num(chartBottom + 16)})
		}
		barX, barW := x+slot*(1-barFill)/2, slot*barFill
		stacked := 0
		for _, s := range tl.Series {
			v := b.Counts[s]
			if v == 0 {
				continue
			}
			c.Bars = append(c.Bars, bar{X: num(barX), W: num(barW), Y: num(y(stacked + v)),
				H: num(y(stacked) - y(stacked+v)), Class: seriesClass(s),
				Title: fmt.Sprintf("%s–%s UTC: %s %d", b.Start.UTC().Format(chartTimeFmt),
					b.Start.Add(w.Bucket()).UTC().Format(chartTimeFmt), s, v)})
			stacked += v
		}
	}
	for _, s := range tl.Series {
		c.Legend = append(c.Legend, legendItem{Series: s, Class: seriesClass(s), Total: totals[s]})
	}
	c.Summary = fmt.Sprintf("Stacked bar chart of %d provisioning actions over %d buckets of %s; busiest bucket %d.",
		total, n, Span(w.Bucket()), peak)
	return c
}

// yScale picks the axis top and tick step for a peak: a step of 1, 2 or 5
// times a power of ten, with at most chartYTicks steps.
func yScale(peak int) (top, step int) {
	if peak <= 0 {
		return 4, 1
	}
	for mag := 1; ; mag *= 10 {
		for _, m := range []int{1, 2, 5} {
			step = m * mag
			if int(math.Ceil(float64(peak)/float64(step))) <= chartYTicks {
				return int(math.Ceil(float64(peak)/float64(step))) * step, step
			}
		}
	}
}

// xLabelEvery is how many buckets apart the time labels are: a divisor of
// a day in buckets, so labels land on round hours.
func xLabelEvery(n int, bucket time.Duration) int {
	perDay := int(24 * time.Hour / bucket)
	for _, every := range []int{1, 2, 3, 4, 6, 12, 24, 36, 48, 72, 144, 288} {
		if n/every < maxXLabels && (perDay == 0 || perDay%every == 0) {
			return every
		}
	}
	return max(1, n/maxXLabels+1)
}

// labelled reports whether the bucket starting at t carries a time label.
func labelled(t time.Time, bucket time.Duration, every int) bool {
	sinceMidnight := t.UTC().Sub(t.UTC().Truncate(24 * time.Hour))
	return int(sinceMidnight/bucket)%every == 0
}

// seriesClass is the CSS class that colours a series; the stylesheet has
// one per known action, and one for any other.
func seriesClass(s string) string {
	if s == SeriesFailed || slices.Contains(knownSeries, s) {
		return "s-" + s
	}
	return "s-other"
}

func num(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }
