//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
)

// writeFile replaces a file by rename, as editors and ConfigMap updates do,
// so the watcher never reads half a file.
func writeFile(path, data string) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func removeFile(path string) error {
	err := os.Remove(path)
	if os.IsNotExist(err) {
		return nil
	}
	return err
}
