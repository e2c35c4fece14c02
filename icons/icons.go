// Package icons embeds SMSTorrent's own icons: the application icon and one
// tray icon per state, as PNG (Linux) and ICO (Windows). The images are drawn
// by a Go program (icons/gen, from icons/internal/paint); regenerate them with
// `go generate ./icons` after changing a design. This package does not import
// Fyne, so the tray stays small.
package icons

//go:generate go run ./gen -out .

import (
	"embed"
	"runtime"
)

// Name names an icon.
type Name string

// Icons. The tray shows one of the state icons; App is the window's and the
// installer's icon.
const (
	App         Name = "app"
	Idle        Name = "idle"
	Downloading Name = "downloading"
	Seeding     Name = "seeding"
	Paused      Name = "paused"
	Error       Name = "error"
	Offline     Name = "offline" // the service is not running
)

// All lists every icon.
var All = []Name{App, Idle, Downloading, Seeding, Paused, Error, Offline}

//go:embed png/*.png ico/*.ico
var files embed.FS

// PNG returns the icon as a PNG image (64 px; App 256 px), or nil if there is
// no icon of that name.
func PNG(n Name) []byte { return read("png/" + string(n) + ".png") }

// ICO returns the icon as a Windows .ico with several sizes, or nil.
func ICO(n Name) []byte { return read("ico/" + string(n) + ".ico") }

// Tray returns the icon in the format the platform's tray expects: ICO on
// Windows, PNG elsewhere.
func Tray(n Name) []byte {
	if runtime.GOOS == "windows" {
		return ICO(n)
	}
	return PNG(n)
}

func read(p string) []byte {
	b, err := files.ReadFile(p)
	if err != nil {
		return nil
	}
	return b
}
