package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sync"
)

//go:embed static
var staticFS embed.FS

// staticAssets are the assets by name, with the hash of their content that
// their URLs carry, so that they can be cached for ever and a new binary's
// assets are fetched anew; and those URLs by name. Read and hashed on the
// console's first use, not at every start of the binary (a CLI command has
// no use for them).
var staticAssets = sync.OnceValues(loadStatic)

type staticFile struct {
	data []byte
	hash string
}

func loadStatic() (map[string]staticFile, map[string]string) {
	files := map[string]staticFile{}
	urls := map[string]string{}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	for _, e := range entries {
		data, err := fs.ReadFile(staticFS, "static/"+e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(data)
		h := hex.EncodeToString(sum[:6])
		files[e.Name()] = staticFile{data: data, hash: h}
		urls[e.Name()] = Prefix + "static/" + e.Name() + "?v=" + h
	}
	return files, urls
}

func (s *Server) static(w http.ResponseWriter, r *http.Request, c *call) error {
	files, _ := staticAssets()
	f, ok := files[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return nil
	}
	h := w.Header()
	ct := mime.TypeByExtension(path.Ext(r.PathValue("file")))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("ETag", `"`+f.hash+`"`)
	if r.URL.Query().Get("v") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == `"`+f.hash+`"` {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Write(f.data)
	return nil
}
