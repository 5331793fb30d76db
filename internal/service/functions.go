package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-ci/sluice/internal/function"
	"github.com/sluice-ci/sluice/internal/store"
)

// Functions are what the Function (Lambda) invoke action runs: a command a
// worker starts, or a URL it POSTs the job event to. The function answers
// for its job itself (see jobresults.go).

// FunctionInfo is a stored function.
type FunctionInfo struct {
	Function function.Function
	Created  time.Time
	Updated  time.Time
}

// FunctionApplyResult says what applying a function did: created it, changed
// it, or neither (the same definition was stored already).
type FunctionApplyResult struct {
	Name    string
	Created bool
	Changed bool
	Info    FunctionInfo
}

// ApplyFunction reads a function file (YAML or JSON, told apart by filename),
// checks it and stores it, creating or replacing the function of its name.
func (s *Service) ApplyFunction(ctx context.Context, filename string, data []byte) (FunctionApplyResult, error) {
	f, err := function.Parse(filename, data)
	if err != nil {
		return FunctionApplyResult{}, Errorf(CodeInvalid, "%s", err.Error())
	}
	return s.PutFunction(ctx, f)
}

// PutFunction checks f and stores it, creating or replacing the function of
// its name. Storing the same definition again changes nothing.
func (s *Service) PutFunction(ctx context.Context, f *function.Function) (FunctionApplyResult, error) {
	if err := f.Validate(); err != nil {
		return FunctionApplyResult{}, Errorf(CodeInvalid, "%v", err)
	}
	raw, err := json.Marshal(f)
	if err != nil {
		return FunctionApplyResult{}, err
	}
	res := FunctionApplyResult{Name: f.Name, Created: true, Changed: true}
	now := s.now()
	row := store.Definition{Kind: store.KindFunction, Name: f.Name, Document: raw, Created: now, Updated: now}
	old, err := s.store.Definition(ctx, store.KindFunction, f.Name)
	switch {
	case err == nil:
		res.Created = false
		row.Created = old.Created
		if canonicalJSON(old.Document, &function.Function{}) == string(raw) {
			res.Changed = false
			res.Info, err = decodeFunction(old)
			return res, err
		}
	case !errors.Is(err, store.ErrNotFound):
		return FunctionApplyResult{}, err
	}
	if err := s.store.PutDefinition(ctx, row); err != nil {
		return FunctionApplyResult{}, err
	}
	res.Info = FunctionInfo{Function: *f, Created: row.Created, Updated: row.Updated}
	return res, nil
}

// canonicalJSON re-encodes a stored definition through v, so that a
// definition stored by an older sluice compares equal to the same one encoded
// now; "" when it does not decode.
func canonicalJSON(raw []byte, v any) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return ""
	}
	out, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(out)
}

// Functions lists the functions by name.
func (s *Service) Functions(ctx context.Context) ([]FunctionInfo, error) {
	rows, err := s.store.Definitions(ctx, store.KindFunction)
	if err != nil {
		return nil, err
	}
	out := make([]FunctionInfo, 0, len(rows))
	for _, r := range rows {
		f, err := decodeFunction(r)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// Function returns one function.
func (s *Service) Function(ctx context.Context, name string) (FunctionInfo, error) {
	row, err := s.store.Definition(ctx, store.KindFunction, name)
	if errors.Is(err, store.ErrNotFound) {
		return FunctionInfo{}, Errorf(CodeNotFound, "function %s not found", name)
	}
	if err != nil {
		return FunctionInfo{}, err
	}
	return decodeFunction(row)
}

func decodeFunction(r store.Definition) (FunctionInfo, error) {
	f := FunctionInfo{Created: r.Created, Updated: r.Updated}
	if err := json.Unmarshal(r.Document, &f.Function); err != nil {
		return f, fmt.Errorf("decode function %s: %w", r.Name, err)
	}
	return f, nil
}

// DeleteFunction deletes a function. Actions naming it fail when they run.
func (s *Service) DeleteFunction(ctx context.Context, name string) error {
	if err := s.store.DeleteDefinition(ctx, store.KindFunction, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Errorf(CodeNotFound, "function %s not found", name)
		}
		return err
	}
	return nil
}
