package service

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluice-ci/sluice/internal/store"
)

// The secret key is rotated without stopping: a server is given the key that
// encrypts (Config.SecretKey) and, for the while of a rotation, keys that
// only decrypt (Config.DecryptKeys). A sealed value carries no key id: it is
// opened with each key in turn, the encrypting one first, and AES-GCM's
// authentication tells the right key from a wrong one. ReencryptSecrets
// then rewrites every value under the encrypting key, after which the old
// keys can be dropped. docs/OPERATIONS.md has the procedure.

// errNoKey is why a value opens with none of the server's keys.
var errNoKey = errors.New("it opens with none of this server's secret keys (a wrong --secret-key-file or SLUICE_SECRET_KEY, or a key rotated away before `sluice admin reencrypt` ran: see docs/OPERATIONS.md, Rotating the secret key)")

// keyAEADs are the server's keys as AES-GCM ciphers, the encrypting one
// first.
func (s *Service) keyAEADs() ([]cipher.AEAD, error) {
	if len(s.secretKey) != SecretKeySize {
		return nil, Errorf(CodeInternal, "this server has no secret key")
	}
	out := make([]cipher.AEAD, 0, 1+len(s.decryptKeys))
	for _, k := range append([][]byte{s.secretKey}, s.decryptKeys...) {
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		out = append(out, gcm)
	}
	return out, nil
}

// seal encrypts plain under the encrypting key, with aad authenticated
// alongside (what the value belongs to, so that sealed values cannot be
// swapped): the nonce, then the ciphertext.
func (s *Service) seal(plain, aad []byte) ([]byte, error) {
	keys, err := s.keyAEADs()
	if err != nil {
		return nil, err
	}
	gcm := keys[0]
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, plain, aad), nil
}

// unseal opens what seal made, with whichever of the server's keys sealed
// it; current says that was the encrypting key. Its errors say why, never
// what.
func (s *Service) unseal(sealed, aad []byte) (plain []byte, current bool, err error) {
	keys, err := s.keyAEADs()
	if err != nil {
		return nil, false, err
	}
	if len(sealed) < keys[0].NonceSize()+keys[0].Overhead() {
		return nil, false, errors.New("the stored value is damaged (too short)")
	}
	nonce, box := sealed[:keys[0].NonceSize()], sealed[keys[0].NonceSize():]
	for i, gcm := range keys {
		if plain, err := gcm.Open(nil, nonce, box, aad); err == nil {
			return plain, i == 0, nil
		}
	}
	return nil, false, errNoKey
}

// ReencryptReport says what ReencryptSecrets did, by name: never a value.
type ReencryptReport struct {
	// Reencrypted were under a key that only decrypts, and are now under
	// the encrypting key; Current were already.
	Reencrypted []string `json:"reencrypted"`
	Current     int      `json:"current"`
	// Failed open with none of the server's keys (or could not be
	// rewritten), each with why.
	Failed []ReencryptFailure `json:"failed"`
}

// ReencryptFailure is a value ReencryptSecrets could not move.
type ReencryptFailure struct {
	Name   string `json:"name"` // secret/NAME or accesskey/ID
	Reason string `json:"reason"`
}

// sealedKind is a kind of definition that holds sealed values: how to find
// the sealed bytes in its document and put new ones back.
type sealedKind struct {
	kind   store.Kind
	prefix string // of the names in a report, and of the resource
	// get returns the sealed value of d and its authenticated data; set
	// returns d's document with the value replaced.
	get func(d store.Definition) (sealed, aad []byte, err error)
	set func(d store.Definition, sealed []byte) ([]byte, error)
}

var sealedKinds = []sealedKind{
	{
		kind: store.KindSecret, prefix: "secret/",
		get: func(d store.Definition) ([]byte, []byte, error) { return d.Document, []byte(d.Name), nil },
		set: func(_ store.Definition, sealed []byte) ([]byte, error) { return sealed, nil },
	},
	{
		kind: store.KindAccessKey, prefix: "accesskey/",
		get: func(d store.Definition) ([]byte, []byte, error) {
			var doc accessKeyDoc
			if err := json.Unmarshal(d.Document, &doc); err != nil {
				return nil, nil, fmt.Errorf("the stored document is damaged: %w", err)
			}
			return doc.Sealed, []byte("accesskey:" + d.Name), nil
		},
		set: func(d store.Definition, sealed []byte) ([]byte, error) {
			var doc accessKeyDoc
			if err := json.Unmarshal(d.Document, &doc); err != nil {
				return nil, err
			}
			doc.Sealed = sealed
			return json.Marshal(doc)
		},
	},
}

// ReencryptSecrets rewrites every sealed value (secrets, access keys' secrets)
// that is under a key that only decrypts under the encrypting key. Each value
// is rewritten in a transaction of its own, on condition that nobody changed
// it since it was read (a value put meanwhile is read again, and is under the
// encrypting key already), so the pass can run while replicas serve, can be
// stopped anywhere and run again, and a second run rewrites nothing.
// Values that open with none of the keys are reported, and left as they are.
func (s *Service) ReencryptSecrets(ctx context.Context) (ReencryptReport, error) {
	rep := ReencryptReport{Reencrypted: []string{}, Failed: []ReencryptFailure{}}
	if _, err := s.keyAEADs(); err != nil {
		return rep, err
	}
	for _, sk := range sealedKinds {
		rows, err := s.store.Definitions(ctx, sk.kind)
		if err != nil {
			return rep, err
		}
		for _, row := range rows {
			moved, err := s.reencryptOne(ctx, sk, row.Name)
			switch {
			case errors.Is(err, store.ErrNotFound): // deleted meanwhile
			case err != nil:
				if ctx.Err() != nil {
					return rep, ctx.Err()
				}
				rep.Failed = append(rep.Failed, ReencryptFailure{Name: sk.prefix + row.Name, Reason: err.Error()})
			case moved:
				rep.Reencrypted = append(rep.Reencrypted, sk.prefix+row.Name)
			default:
				rep.Current++
			}
		}
	}
	s.log.Info("secrets re-encrypted under the current key", "reencrypted", len(rep.Reencrypted), "current", rep.Current, "failed", len(rep.Failed))
	return rep, nil
}

// reencryptOne moves one value to the encrypting key; moved is false when it
// was there already.
func (s *Service) reencryptOne(ctx context.Context, sk sealedKind, name string) (moved bool, err error) {
	for attempt := 1; ; attempt++ {
		err = s.store.UpdateGlobal(ctx, func(tx store.Tx) error {
			moved = false
			d, err := tx.Definition(ctx, sk.kind, name)
			if err != nil {
				return err
			}
			sealed, aad, err := sk.get(d)
			if err != nil {
				return err
			}
			plain, current, err := s.unseal(sealed, aad)
			if err != nil || current {
				return err
			}
			resealed, err := s.seal(plain, aad)
			clear(plain)
			if err != nil {
				return err
			}
			if d.Document, err = sk.set(d, resealed); err != nil {
				return err
			}
			moved = true
			// d.Updated is kept: the value is the same.
			return tx.PutDefinition(ctx, d)
		})
		if !errors.Is(err, store.ErrConflict) || attempt == pullAttempts {
			return moved, err
		}
	}
}

// UndecryptableSecrets lists, by name, the sealed values that open with none
// of the server's keys, out of how many there are: a server started with a
// wrong key says so at once rather than at the first job that needs one.
func (s *Service) UndecryptableSecrets(ctx context.Context) (names []string, total int, err error) {
	for _, sk := range sealedKinds {
		rows, err := s.store.Definitions(ctx, sk.kind)
		if err != nil {
			return nil, 0, err
		}
		for _, row := range rows {
			total++
			sealed, aad, err := sk.get(row)
			if err == nil {
				var plain []byte
				plain, _, err = s.unseal(sealed, aad)
				clear(plain)
			}
			if err != nil {
				names = append(names, sk.prefix+row.Name)
			}
		}
	}
	return names, total, nil
}
