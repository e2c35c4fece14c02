package netlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Output runs name with args inside namespace ns, bounded by timeout, and
// returns its standard output; a failure carries the command's stderr.
func Output(ctx context.Context, ns string, timeout time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// WriteJSON writes v as indented JSON to path, creating its folder.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// OutputJSON runs name with args inside namespace ns, like Output, and
// decodes its standard output as JSON into v.
func OutputJSON(ctx context.Context, ns string, timeout time.Duration, v any, name string, args ...string) error {
	out, err := Output(ctx, ns, timeout, name, args...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// permanent wraps an error that retrying cannot fix.
type permanent struct{ error }

// Permanent marks err as one that Retry must not retry.
func Permanent(err error) error { return permanent{err} }

// Retry calls fn every 300 ms until it succeeds, returns a Permanent
// error, ctx ends or limit passes; it returns fn's last error.
func Retry(ctx context.Context, limit time.Duration, fn func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if p, ok := err.(permanent); ok {
			return p.error
		}
		if time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(300 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// CopyTree recreates the folder src at dst: with hard links to its files
// if link, else with copies.
func CopyTree(src, dst string, link bool) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case link:
			return os.Link(p, target)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// UpdateMarkdownSection replaces the text between the markers begin and
// end in the Markdown file at path with section, or appends the section
// with its markers (creating the file if needed); everything else in the
// file stays as it is. A file with only one of the markers is an error.
func UpdateMarkdownSection(path, begin, end, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	block := begin + "\n" + section + end
	s := string(old)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	switch {
	case i >= 0 && j > i:
		s = s[:i] + block + s[j+len(end):]
	case i >= 0 || j >= 0:
		return fmt.Errorf("%s: only one of the markers %q and %q is present", path, begin, end)
	default:
		if s != "" && !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		if s != "" {
			s += "\n"
		}
		s += block + "\n"
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

// Rendered is a benchmark report that draws a chart and a Markdown section.
type Rendered interface {
	WriteChart(path string) error
	// Markdown renders the section; chart is the chart's path relative to
	// the Markdown file ("" for none).
	Markdown(chart string) string
}

// Publish writes r's chart (unless chart is empty) and its section into the
// Markdown file between begin and end (unless markdown is empty), and
// returns the section.
func Publish(r Rendered, chart, markdown, begin, end string) (string, error) {
	chartRel := ""
	if chart != "" {
		if err := r.WriteChart(chart); err != nil {
			return "", fmt.Errorf("chart: %w", err)
		}
		if markdown != "" {
			if rel, err := filepath.Rel(filepath.Dir(markdown), chart); err == nil {
				chartRel = filepath.ToSlash(rel)
			}
		}
	}
	section := r.Markdown(chartRel)
	if markdown != "" {
		if err := UpdateMarkdownSection(markdown, begin, end, section); err != nil {
			return "", err
		}
	}
	return section, nil
}
