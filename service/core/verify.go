package core

import (
	"context"
	"errors"
	"net/http"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/smstorrent/smstorrent/internal/pkgverify"
	"github.com/smstorrent/smstorrent/service/api"
)

// Verify checks that a complete package's folder holds exactly its signed
// files, re-hashing every piece (internal/pkgverify). The wrapper calls it
// right before it runs a command from the folder as SYSTEM.
func (s *Service) Verify(ctx context.Context, id string) (api.Job, error) {
	info, dir, err := s.verifyTarget(id)
	if err != nil {
		return api.Job{}, err
	}
	res, err := pkgverify.Folder(ctx, dir, &info)
	switch {
	case errors.Is(err, pkgverify.ErrMismatch):
		s.log.Warn("package folder does not match its signed torrent; not letting the wrapper run it", "package", id, "folder", dir, "err", err)
		return api.Job{}, api.Errorf(http.StatusConflict, api.CodeIntegrity, "%s: %v", dir, err)
	case err != nil:
		return api.Job{}, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "verifying %s: %v", dir, err)
	}
	s.log.Info("package folder verified", "package", id, "files", res.Files, "bytes", res.Bytes, "took", res.Took)
	return s.Job(id)
}

// verifyTarget returns a complete job's signed info and its folder.
func (s *Service) verifyTarget(id string) (metainfo.Info, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return metainfo.Info{}, "", notFound(id)
	}
	if st := s.snapshotJob(j, false).State; st != api.StateTransferred || j.pkg == nil {
		return metainfo.Info{}, "", api.Errorf(http.StatusConflict, api.CodeConflict, "package %s is not complete (%s): nothing to verify yet", id, st)
	}
	return j.pkg.Info, s.jobDir(j.rec), nil
}
