package report

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// regions writes a multi-region run's figures: where users and bytes
// live, replication lag per region pair, staleness, cross-region traffic.
func (s *sumWriter) regions(r *Results) {
	g := r.Regions
	if g == nil {
		return
	}
	s.printf("regions (where users and bytes live):\n")
	rows := [][]string{{"  region", "users homed", "files homed", "files held", "stored", "notifications", "reads"}}
	for _, x := range g.Regions {
		rows = append(rows, []string{"  " + x.Name, fmt.Sprint(x.UsersHomed), fmt.Sprint(x.FilesHomed), fmt.Sprint(x.FilesHeld),
			bytesIEC(x.StoredBytes), fmt.Sprint(x.Notifications), fmt.Sprint(x.Reads)})
	}
	s.table(rows)
	s.printf("replication lag (commit at home -> applied in region):\n")
	rows = [][]string{{"  pair", "applied", "skipped", "failed", "p50", "p99", "max"}}
	for _, l := range g.Lag {
		rows = append(rows, []string{"  " + l.Home + " -> " + l.Region, fmt.Sprint(l.Applied), fmt.Sprint(l.Skipped),
			fmt.Sprint(l.Failed), seconds(l.P50), seconds(l.P99), seconds(l.Max)})
	}
	s.table(rows)
	if rc := g.Recovered; rc != nil {
		s.printf("lag after the last regional outage: p50 %s p99 %s max %s over %d versions\n", seconds(rc.P50), seconds(rc.P99), seconds(rc.Max), rc.Count)
	}
	st := g.Staleness
	s.printf("staleness of non-home reads: %d of %d behind home (%s), p50 %s p99 %s max %s, at most %d version(s)\n",
		st.Stale, st.Reads, percent(st.Share), seconds(st.P50), seconds(st.P99), seconds(st.Max), st.MaxVersions)
	s.printf("cross-region bytes: replication %s, uploads staged at a remote home %s; refused uploads (home unreachable) %d; replication events failed %d, duplicated %d\n\n",
		bytesIEC(g.ReplicationBytes), bytesIEC(g.UploadCrossBytes), g.Refused, g.ReplicationFailed, g.ReplicationDuplicated)
}

// regionCharts draws one replication lag chart per region pair.
func regionCharts(r *Results) ([]Chart, error) {
	if r.Regions == nil {
		return nil, nil
	}
	var out []Chart
	for _, l := range r.Regions.Lag {
		if len(l.Points) == 0 {
			continue
		}
		name := "lag-" + l.Home + "-to-" + l.Region
		p := newPlot("Replication lag "+l.Home+" -> "+l.Region, "commit time (s since the first commit)", "lag (s)")
		xys := make(plotter.XYs, len(l.Points))
		for i, pt := range l.Points {
			xys[i].X, xys[i].Y = pt[0], pt[1]
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", name, err)
		}
		sc.GlyphStyle.Color = color.RGBA{R: 31, G: 119, B: 180, A: 255}
		p.Add(sc)
		addLagLine(p, "p99", l.P99)
		pngData, svgData, err := render(p)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", name, err)
		}
		out = append(out, Chart{Name: name, Title: p.Title.Text, PNG: pngData, SVG: svgData})
	}
	return out, nil
}

// addLagLine draws a horizontal reference line at y, named in the legend.
func addLagLine(p *plot.Plot, label string, y float64) {
	ln, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: y}, {X: p.X.Max, Y: y}})
	if err != nil {
		return
	}
	ln.Color = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	ln.Dashes = nil
	p.Add(ln)
	p.Legend.Add(label+" "+seconds(y), ln)
}

// htmlRegions is report.html's regions section.
type htmlRegions struct {
	Rows, Lag []htmlRow
	Note      string
}

func regionsSection(g *Regions) *htmlRegions {
	if g == nil {
		return nil
	}
	h := &htmlRegions{}
	for _, x := range g.Regions {
		h.Rows = append(h.Rows, htmlRow{Name: x.Name, Cells: []string{fmt.Sprint(x.UsersHomed), fmt.Sprint(x.FilesHomed),
			fmt.Sprint(x.FilesHeld), bytesIEC(x.StoredBytes), fmt.Sprint(x.Notifications), fmt.Sprint(x.Reads)}})
	}
	for _, l := range g.Lag {
		h.Lag = append(h.Lag, htmlRow{Name: l.Home + " -> " + l.Region, Cells: []string{fmt.Sprint(l.Applied),
			fmt.Sprint(l.Skipped), fmt.Sprint(l.Failed), seconds(l.P50), seconds(l.P99), seconds(l.Max)}})
	}
	st := g.Staleness
	h.Note = fmt.Sprintf("Non-home reads behind home: %d of %d (%s), p99 %s. Cross-region bytes: replication %s, remote staging %s. Uploads refused (home unreachable): %d. Replication events failed: %d.",
		st.Stale, st.Reads, percent(st.Share), seconds(st.P99), bytesIEC(g.ReplicationBytes), bytesIEC(g.UploadCrossBytes),
		g.Refused, g.ReplicationFailed)
	return h
}
