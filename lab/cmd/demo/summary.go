package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smstorrent/smstorrent/internal/units"
)

func (d *demo) summary(ctx context.Context) error {
	d.step(8, "Summary")
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PC\tfrom origin (WAN)\tfrom branch peers (LAN)\tdownload time\tfirst SCCM run to installed\twrapper exit codes\t")
	var wan, lan int64
	for _, n := range d.branches {
		j, err := n.client.Job(ctx, pkgID)
		if err != nil {
			return fmt.Errorf("%s: %w", n.name, err)
		}
		wan += j.DownloadedServer
		lan += j.DownloadedSite
		dl := "-"
		if !j.Completed.IsZero() {
			dl = j.Completed.Sub(j.Added).Round(100 * time.Millisecond).String()
		}
		codes := make([]string, len(n.runs))
		for i, c := range n.runs {
			codes[i] = fmt.Sprint(c)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", n.name, units.Bytes(j.DownloadedServer), units.Bytes(j.DownloadedSite), dl,
			n.installed.Sub(n.firstRun).Round(100*time.Millisecond), strings.Join(codes, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	oj, err := d.origin.client.Job(ctx, pkgID)
	if err != nil {
		return fmt.Errorf("origin: %w", err)
	}
	fmt.Fprintln(d.out)
	fmt.Fprintf(d.out, "Package %s: %s. The origin sent %s in total over its WAN link; without peer-to-peer each\n", pkgID, units.Bytes(d.pkgSize), units.Bytes(oj.Uploaded))
	fmt.Fprintf(d.out, "branch PC would have pulled the whole package from it (%s for two PCs).\n", units.Bytes(2*d.pkgSize))
	fmt.Fprintf(d.out, "The branches got %s from the origin and %s from each other.\n", units.Bytes(wan), units.Bytes(lan))
	fmt.Fprintf(d.out, "Both PCs installed from their own cache; the demo took %s.\n", time.Since(d.started).Round(100*time.Millisecond))
	if lan == 0 {
		fmt.Fprintln(d.out, "Note: no bytes came from the branch peer this time (the origin was fast enough).")
	}
	return nil
}
