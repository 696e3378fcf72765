package console

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tokenhot/tokenhot/internal/billing"
)

// usageDays is how many days, today (UTC) included, the usage page shows.
const usageDays = 14

// usageModels bounds the models charted; the rest are summed as "other".
const usageModels = 12

// usageSum is the usage of one day or one model.
type usageSum struct {
	Label    string
	Requests int64
	Tokens   int64
	Cost     billing.Micros
}

// usageBar is one bar of a chart, laid out in the SVG's user units.
type usageBar struct {
	Label, Value string
	X, Y, W, H   float64
	LX, LY       float64 // the label's anchor
	VX, VY       float64 // the value's anchor (horizontal charts)
}

// usageChart is an inline SVG bar chart: vertical bars for days, horizontal
// ones for models.
type usageChart struct {
	ID, Title, Desc string
	Width, Height   float64
	Base            float64 // the axis of vertical bars
	Horizontal      bool
	Bars            []usageBar
}

type usageData struct {
	Since      string
	Total      usageSum
	Days       []usageSum
	Models     []usageSum
	DayCharts  []usageChart
	ModelChart []usageChart
}

func (c *Console) usagePage(w http.ResponseWriter, r *http.Request, s *session) {
	today := c.now().UTC().Truncate(24 * time.Hour)
	since := today.AddDate(0, 0, -(usageDays - 1))
	rows, err := c.st.Usage(r.Context(), s.UserID, since)
	if err != nil {
		c.fail(w, r, err, http.StatusInternalServerError, "err.internal")
		return
	}
	v := c.newView(r, s, "usage.title")
	d := usageData{Since: since.Format("2006-01-02")}
	byDay := map[string]*usageSum{}
	for i := range usageDays {
		label := since.AddDate(0, 0, i).Format("2006-01-02")
		d.Days = append(d.Days, usageSum{Label: label})
	}
	for i := range d.Days {
		byDay[d.Days[i].Label] = &d.Days[i]
	}
	byModel := map[string]*usageSum{}
	for _, u := range rows {
		add := func(s *usageSum) { s.Requests += u.Requests; s.Tokens += u.Tokens; s.Cost += u.Cost }
		if s := byDay[u.Day.Format("2006-01-02")]; s != nil {
			add(s)
		}
		m := byModel[u.Model]
		if m == nil {
			m = &usageSum{Label: u.Model}
			byModel[u.Model] = m
		}
		add(m)
		add(&d.Total)
	}
	for _, m := range byModel {
		d.Models = append(d.Models, *m)
	}
	slices.SortFunc(d.Models, func(a, b usageSum) int {
		return cmp.Or(cmp.Compare(b.Cost, a.Cost), cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Label, b.Label))
	})
	if len(d.Models) > usageModels {
		other := usageSum{Label: v.T("usage.other")}
		for _, m := range d.Models[usageModels-1:] {
			other.Requests += m.Requests
			other.Tokens += m.Tokens
			other.Cost += m.Cost
		}
		d.Models = append(d.Models[:usageModels-1], other)
	}
	metrics := []struct {
		id    string
		value func(usageSum) (float64, string)
	}{
		{"spend", func(u usageSum) (float64, string) { return float64(u.Cost), "$" + u.Cost.USD() }},
		{"requests", func(u usageSum) (float64, string) { return float64(u.Requests), strconv.FormatInt(u.Requests, 10) }},
		{"tokens", func(u usageSum) (float64, string) { return float64(u.Tokens), strconv.FormatInt(u.Tokens, 10) }},
	}
	for _, m := range metrics {
		d.DayCharts = append(d.DayCharts, c.newChart(v, "day-"+m.id, v.T("usage.chart_day_"+m.id), false, d.Days, m.value))
		if len(d.Models) > 0 {
			d.ModelChart = append(d.ModelChart, c.newChart(v, "model-"+m.id, v.T("usage.chart_model_"+m.id), true, d.Models, m.value))
		}
	}
	v.Data = d
	c.render(w, http.StatusOK, "usage", v)
}

// newChart lays out one bar per item.
func (c *Console) newChart(v *view, id, title string, horizontal bool, items []usageSum,
	value func(usageSum) (float64, string)) usageChart {
	ch := usageChart{ID: id, Title: title, Horizontal: horizontal}
	var (
		top      float64
		topLabel string
		topValue string
	)
	for _, it := range items {
		if f, s := value(it); f > top {
			top, topLabel, topValue = f, it.Label, s
		}
	}
	scale := func(f, length float64) float64 {
		if top <= 0 {
			return 0
		}
		return f / top * length
	}
	if horizontal {
		const label, length, row = 190.0, 380.0, 26.0
		ch.Width, ch.Height = label+length+90, row*float64(len(items))+4
		for i, it := range items {
			f, s := value(it)
			y := row*float64(i) + 4
			w := max(scale(f, length), 1)
			ch.Bars = append(ch.Bars, usageBar{Label: it.Label, Value: s, X: label, Y: y, W: w, H: row - 8,
				LX: label - 8, LY: y + row/2, VX: label + w + 6, VY: y + row/2})
		}
	} else {
		const height, bottom, left, slot = 160.0, 34.0, 4.0, 46.0
		ch.Width, ch.Height, ch.Base = left+slot*float64(len(items)), height+bottom+16, 16+height
		for i, it := range items {
			f, s := value(it)
			h := scale(f, height)
			if f > 0 {
				h = max(h, 1)
			}
			x := left + slot*float64(i)
			// Days show as MM-DD under their bar.
			ch.Bars = append(ch.Bars, usageBar{Label: it.Label, Value: s, X: x + 6, Y: 16 + height - h, W: slot - 12, H: h,
				LX: x + slot/2, LY: 16 + height + 18})
		}
	}
	if top > 0 {
		ch.Desc = v.T("usage.chart_desc", len(items), topLabel, topValue)
	} else {
		ch.Desc = v.T("usage.chart_empty")
	}
	return ch
}

// shortDay turns 2006-01-02 into 01-02 for the axis.
func shortDay(s string) string {
	if len(s) == len("2006-01-02") {
		return s[5:]
	}
	return s
}

// px formats an SVG coordinate.
func px(f float64) string { return fmt.Sprintf("%.1f", f) }

func init() {
	funcs["px"] = px
	funcs["shortDay"] = shortDay
}
