//! The async read handle: how code on the async executor reads the store. RocksDB reads block
//! (a point read may hit the disk, a scan may take milliseconds), so every read runs on the
//! blocking pool; callers hand it a closure over `&Store` instead of writing `spawn_blocking`
//! themselves. The handle can read but not write: commits belong to the writer thread.

use std::sync::Arc;

use super::{StorageError, Store};

/// A cloneable, read-only handle to the store for async code.
#[derive(Clone)]
pub struct StoreReader {
    store: Arc<Store>,
}

impl StoreReader {
    /// A read handle on `store`.
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    /// Runs `read` on the blocking pool and returns what it returns. A read that panics is
    /// reported as [`StorageError::ReadFailed`], never propagated.
    pub async fn run<T, E>(
        &self,
        read: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || read(&store)).await {
            Ok(result) => result,
            Err(error) => Err(StorageError::ReadFailed(error.to_string()).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_run_off_the_executor_and_a_panicking_read_is_an_error() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (store, _writer) = Store::open(dir.path()).expect("a store");
        let reader = StoreReader::new(store);
        let heads = reader
            .run(|store| store.heads())
            .await
            .expect("an empty store reads");
        assert!(heads.is_empty());
        let failed = reader
            .run(|_store| -> Result<(), StorageError> { panic!("a read that fails") })
            .await;
        assert!(
            matches!(failed, Err(StorageError::ReadFailed(_))),
            "{failed:?}"
        );
    }
}
