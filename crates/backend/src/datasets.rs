//! Usage datasets: an upload is streamed to a file (never held in memory),
//! imported with format detection into Apex's own JSONL (the import report,
//! with line numbers of skipped lines, is kept), and loaded into a compact
//! [`usage::Dataset`] on demand, with a small cache of recently used ones.

use crate::store::{BackendStore, DatasetRecord, StoreError};
use std::collections::VecDeque;
use std::io::{BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use usage::{Dataset, Format, ImportOptions, Importer};
use uuid::Uuid;

/// Dataset errors.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot tell the format of the upload; give ?format= (one of {0})")]
    UnknownFormat(String),
    #[error("the upload holds no usable usage records ({0})")]
    NoRecords(String),
    #[error("import failed: {0}")]
    Import(#[from] usage::ImportError),
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// A loaded dataset.
pub struct Loaded {
    pub name: String,
    pub data: Arc<Dataset>,
}

/// Imports and loads datasets; keeps the last few loaded in memory.
pub struct DatasetCache {
    store: Arc<dyn BackendStore>,
    dir: PathBuf,
    capacity: usize,
    cache: Mutex<VecDeque<(Uuid, Arc<Loaded>)>>,
}

impl DatasetCache {
    pub fn new(store: Arc<dyn BackendStore>, dir: PathBuf, capacity: usize) -> Self {
        DatasetCache {
            store,
            dir,
            capacity: capacity.max(1),
            cache: Mutex::new(VecDeque::new()),
        }
    }

    /// Directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where a new upload is written before import.
    pub fn upload_path(&self, id: Uuid) -> PathBuf {
        self.dir.join(format!("{id}.upload"))
    }

    /// Imports the uploaded file into normalised JSONL and records the dataset.
    /// The upload file is removed afterwards, whatever happens.
    pub async fn import_upload(
        &self,
        user_id: Uuid,
        id: Uuid,
        name: String,
        format: Option<Format>,
    ) -> Result<DatasetRecord, DatasetError> {
        let upload = self.upload_path(id);
        let target = self.dir.join(format!("{id}.jsonl"));
        let (upload2, target2) = (upload.clone(), target.clone());
        let result = tokio::task::spawn_blocking(move || convert(&upload2, &target2, format)).await;
        let _ = std::fs::remove_file(&upload);
        let (report, bytes) = match result? {
            Ok(r) => r,
            Err(e) => {
                let _ = std::fs::remove_file(&target);
                return Err(e);
            }
        };
        let rec = DatasetRecord {
            id,
            user_id,
            name,
            format: report.format.name().to_owned(),
            records: i64::try_from(report.records).unwrap_or(i64::MAX),
            bytes,
            path: format!("{id}.jsonl"),
            import_report: report_json(&report),
            sample: false,
            created_at: crate::runs::now_ms(),
        };
        if let Err(e) = self.store.create_dataset(&rec).await {
            let _ = std::fs::remove_file(&target);
            return Err(e.into());
        }
        Ok(rec)
    }

    /// Generates the sample workload (30 days) as a dataset of the user.
    pub async fn create_sample(&self, user_id: Uuid) -> Result<DatasetRecord, DatasetError> {
        let id = Uuid::now_v7();
        let target = self.dir.join(format!("{id}.jsonl"));
        let t2 = target.clone();
        let (records, bytes) =
            tokio::task::spawn_blocking(move || -> Result<(i64, i64), DatasetError> {
                let records = analytics::sample_workload(42, 30);
                let mut w = BufWriter::new(std::fs::File::create(&t2)?);
                for r in &records {
                    usage::write_jsonl(&mut w, r)?;
                }
                w.flush()?;
                let bytes = std::fs::metadata(&t2)?.len();
                Ok((
                    i64::try_from(records.len()).unwrap_or(i64::MAX),
                    i64::try_from(bytes).unwrap_or(i64::MAX),
                ))
            })
            .await??;
        let rec = DatasetRecord {
            id,
            user_id,
            name: "Sample workload (Acme, 30 days)".into(),
            format: Format::ApexJsonl.name().to_owned(),
            records,
            bytes,
            path: format!("{id}.jsonl"),
            import_report: serde_json::json!({ "format": Format::ApexJsonl.name(), "records": records, "skipped_count": 0, "skipped": [], "generated": true }),
            sample: true,
            created_at: crate::runs::now_ms(),
        };
        if let Err(e) = self.store.create_dataset(&rec).await {
            let _ = std::fs::remove_file(&target);
            return Err(e.into());
        }
        Ok(rec)
    }

    /// Loads a user's dataset (None if it is not theirs or does not exist).
    pub async fn load(&self, user_id: Uuid, id: Uuid) -> Result<Option<Arc<Loaded>>, DatasetError> {
        let Some(rec) = self.store.dataset(user_id, id).await? else {
            return Ok(None);
        };
        if let Some(hit) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, v)| v.clone())
        {
            return Ok(Some(hit));
        }
        let path = self.dir.join(&rec.path);
        let data = tokio::task::spawn_blocking(move || -> Result<Dataset, DatasetError> {
            let mut ds = Dataset::new();
            let file = std::fs::File::open(&path)?;
            usage::import_into(
                BufReader::new(file),
                Format::ApexJsonl,
                &ImportOptions::default(),
                &mut ds,
            )?;
            Ok(ds)
        })
        .await??;
        let loaded = Arc::new(Loaded {
            name: rec.name,
            data: Arc::new(data),
        });
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.push_front((id, loaded.clone()));
        cache.truncate(self.capacity);
        Ok(Some(loaded))
    }

    /// Deletes a user's dataset and its file; false if not theirs.
    pub async fn delete(&self, user_id: Uuid, id: Uuid) -> Result<bool, DatasetError> {
        let Some(rec) = self.store.dataset(user_id, id).await? else {
            return Ok(false);
        };
        let deleted = self.store.delete_dataset(user_id, id).await?;
        if deleted {
            let _ = std::fs::remove_file(self.dir.join(&rec.path));
            self.cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|(k, _)| *k != id);
        }
        Ok(deleted)
    }
}

/// Streams the upload through the importer into normalised JSONL.
fn convert(
    upload: &Path,
    target: &Path,
    format: Option<Format>,
) -> Result<(usage::ImportReport, i64), DatasetError> {
    let mut importer = Importer::new(ImportOptions::default());
    let mut out = BufWriter::new(std::fs::File::create(target)?);
    let mut write_err = None;
    let report = importer.import_path(upload, format, &mut |r| {
        if write_err.is_none()
            && let Err(e) = usage::write_jsonl(&mut out, r)
        {
            write_err = Some(e);
        }
    });
    let report = match report {
        Ok(r) => r,
        Err(usage::ImportError::UnknownFormat { .. }) => {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            return Err(DatasetError::UnknownFormat(names.join(", ")));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(e) = write_err {
        return Err(e.into());
    }
    out.flush()?;
    if report.records == 0 {
        return Err(DatasetError::NoRecords(format!(
            "{} lines read, {} skipped",
            report.lines, report.skipped_count
        )));
    }
    let bytes = i64::try_from(std::fs::metadata(target)?.len()).unwrap_or(i64::MAX);
    Ok((report, bytes))
}

/// The import report as JSON for the API.
pub fn report_json(r: &usage::ImportReport) -> serde_json::Value {
    serde_json::json!({
        "format": r.format.name(),
        "records": r.records,
        "aggregates": r.aggregates,
        "duplicates_dropped": r.duplicates_dropped,
        "superseded": r.superseded,
        "ignored": r.ignored,
        "lines": r.lines,
        "bytes": r.bytes,
        "skipped_count": r.skipped_count,
        "skipped": r.skipped.iter().map(|e| serde_json::json!({ "line": e.line, "reason": e.reason.to_string() })).collect::<Vec<_>>(),
    })
}
