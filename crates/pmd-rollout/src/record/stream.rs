//! An Arrow IPC *stream* reader that bounds what it allocates.
//!
//! arrow-ipc's own `StreamReader` trusts the lengths a file states: a
//! corrupted message length, body length or compressed buffer's
//! "uncompressed length" prefix makes it allocate whatever is written
//! there (terabytes, aborting the process), and a buffer offset past the
//! body makes it panic. This reader walks the stream's framing itself and
//! checks every stated length against the file before anything is
//! allocated or decoded:
//!
//! - a message's metadata is at most [`MAX_METADATA_BYTES`] and its body
//!   fits in what is left of the file;
//! - a record batch has at most [`MAX_BATCH_ROWS`] rows, each of its
//!   buffers lies inside the body, and each compressed buffer's stated
//!   uncompressed length is at most what its column can hold for that many
//!   rows, with the batch in all at most
//!   [`MAX_BATCH_BYTES`](super::MAX_BATCH_BYTES);
//! - dictionary batches (never written here) are refused.
//!
//! The arrays are then decoded by arrow-ipc's `RecordBatchDecoder`, which
//! validates their contents.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::RecordBatchDecoder;
use arrow_ipc::{root_as_message, MessageHeader, MetadataVersion};
use arrow_schema::{DataType, Schema, SchemaRef};

use super::schema::MAX_STRING_BYTES;
use super::MAX_BATCH_BYTES;

/// The largest message metadata accepted (a schema with its metadata map
/// is a few KiB).
pub const MAX_METADATA_BYTES: usize = 1 << 20;
/// The most rows a record batch may claim.
pub const MAX_BATCH_ROWS: usize = 1 << 20;
/// Most values one row of one column may hold (nested fixed-size lists
/// multiplied out; ours peak at a frame's 9,600). With [`MAX_BATCH_ROWS`]
/// this keeps every count arrow derives from a batch far from overflowing.
pub const MAX_ROW_VALUES: usize = 1 << 20;
const CONTINUATION: u32 = 0xFFFF_FFFF;

/// Why the stream could not be read (further).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StreamError(pub String);

fn err<T>(what: impl Into<String>) -> Result<T, StreamError> {
    Err(StreamError(what.into()))
}

/// One message off the wire: its metadata bytes and its body.
struct RawMessage {
    metadata: Vec<u8>,
    body: Buffer,
}

/// Reads a stream of messages from `reader`, which has `len` bytes.
pub struct BoundedStreamReader<R> {
    reader: R,
    remaining: u64,
    schema: SchemaRef,
    version: MetadataVersion,
    dictionaries: HashMap<i64, arrow_array::ArrayRef>,
    /// Per column, the most decoded bytes one row can take in each of its
    /// buffers.
    row_bound: usize,
    finished: bool,
}

impl<R: Read> BoundedStreamReader<R> {
    /// Reads the schema message. `len` is the number of bytes `reader`
    /// holds (the file's size).
    pub fn new(mut reader: R, len: u64) -> Result<Self, StreamError> {
        let mut remaining = len;
        let Some(message) = read_message(&mut reader, &mut remaining)? else {
            return err("the stream ends before its schema");
        };
        let parsed = root_as_message(&message.metadata)
            .map_err(|e| StreamError(format!("bad schema message: {e}")))?;
        let Some(schema) = parsed.header_as_schema() else {
            return err("the stream does not start with a schema");
        };
        let schema = arrow_ipc::convert::try_fb_to_schema(schema)
            .map_err(|e| StreamError(format!("bad schema: {e}")))?;
        for field in schema.fields() {
            if row_values(field.data_type()).is_none_or(|n| n > MAX_ROW_VALUES) {
                return err(format!(
                    "column {} holds more than {MAX_ROW_VALUES} values a row",
                    field.name()
                ));
            }
        }
        let row_bound = row_bound(&schema);
        Ok(BoundedStreamReader {
            reader,
            remaining,
            schema: Arc::new(schema),
            version: parsed.version(),
            dictionaries: HashMap::new(),
            row_bound,
            finished: false,
        })
    }

    /// The stream's schema.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// The next record batch; `Ok(None)` at a clean end of stream.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>, StreamError> {
        if self.finished {
            return Ok(None);
        }
        let Some(message) = read_message(&mut self.reader, &mut self.remaining)? else {
            self.finished = true;
            return Ok(None);
        };
        let parsed = root_as_message(&message.metadata)
            .map_err(|e| StreamError(format!("bad message: {e}")))?;
        match parsed.header_type() {
            MessageHeader::RecordBatch => {}
            MessageHeader::DictionaryBatch => return err("unexpected dictionary batch"),
            MessageHeader::Schema => return err("a second schema in the stream"),
            other => return err(format!("unexpected message {other:?}")),
        }
        let batch = parsed
            .header_as_record_batch()
            .ok_or_else(|| StreamError("a record batch message without its header".into()))?;
        let rows = usize::try_from(batch.length())
            .ok()
            .filter(|&r| r <= MAX_BATCH_ROWS)
            .ok_or_else(|| StreamError(format!("a batch claims {} rows", batch.length())))?;
        // Every array's length and null count are what arrow multiplies by
        // list sizes: bound them before it does (found by fuzzing: a node
        // length times a list size overflowed inside arrow's validation).
        let nodes = batch
            .nodes()
            .ok_or_else(|| StreamError("a batch without field nodes".into()))?;
        for node in nodes.iter() {
            let (length, nulls) = (node.length(), node.null_count());
            let fits = usize::try_from(length).is_ok_and(|l| l <= rows * MAX_ROW_VALUES);
            if !fits || nulls < 0 || nulls > length {
                return err(format!(
                    "an array of {length} values ({nulls} null) in a batch of {rows} rows"
                ));
            }
        }
        let buffers = batch
            .buffers()
            .ok_or_else(|| StreamError("a batch without buffers".into()))?;
        let body_len = message.body.len();
        let compressed = batch.compression().is_some();
        let per_buffer = rows.saturating_mul(self.row_bound).saturating_add(64);
        let widths = buffer_widths(&self.schema).filter(|w| w.len() == buffers.len());
        let mut total = 0usize;
        for (i, b) in buffers.iter().enumerate() {
            let (offset, length) = (b.offset(), b.length());
            let end = offset.checked_add(length);
            let inside = offset >= 0
                && length >= 0
                && end.is_some_and(|e| usize::try_from(e).is_ok_and(|e| e <= body_len));
            if !inside {
                return err(format!(
                    "a buffer at {offset}+{length} lies outside the {body_len}-byte body"
                ));
            }
            // arrow-data panics on a buffer that is no whole number of its
            // values (`Buffer::typed_data`) instead of refusing it: refuse
            // it here (fuzz/known-crashes).
            let width = widths.as_ref().map_or(1, |w| w[i]);
            if !compressed || length == 0 {
                if !(length as usize).is_multiple_of(width) {
                    return err(format!(
                        "a buffer of {length} bytes holds no whole number of {width}-byte values"
                    ));
                }
                continue;
            }
            let at = offset as usize;
            let prefix = message
                .body
                .get(at..at + 8)
                .ok_or_else(|| StreamError("a compressed buffer shorter than its prefix".into()))?;
            let stated = i64::from_le_bytes(prefix.try_into().unwrap_or([0; 8]));
            if stated == -1 {
                // stored uncompressed, after the 8-byte prefix
                let data = (length as usize).checked_sub(8).ok_or_else(|| {
                    StreamError("a compressed buffer shorter than its prefix".into())
                })?;
                if !data.is_multiple_of(width) {
                    return err(format!(
                        "a buffer of {data} bytes holds no whole number of {width}-byte values"
                    ));
                }
                continue;
            }
            let stated = usize::try_from(stated)
                .ok()
                .filter(|&s| s <= per_buffer)
                .ok_or_else(|| {
                    StreamError(format!(
                        "a compressed buffer states {stated} decoded bytes for {rows} rows"
                    ))
                })?;
            if !stated.is_multiple_of(width) {
                return err(format!(
                    "a compressed buffer of {stated} bytes holds no whole number of {width}-byte values"
                ));
            }
            total = total.saturating_add(stated);
        }
        if total > MAX_BATCH_BYTES {
            return err(format!(
                "a batch states {total} decoded bytes, more than the {MAX_BATCH_BYTES} allowed"
            ));
        }
        RecordBatchDecoder::try_new(
            &message.body,
            batch,
            Arc::clone(&self.schema),
            &self.dictionaries,
            &self.version,
        )
        .and_then(RecordBatchDecoder::read_record_batch)
        .map(Some)
        .map_err(|e| StreamError(e.to_string()))
    }
}

/// The value width of each buffer a record batch of `schema` carries, in
/// IPC order (per field: its validity bitmap, then its type's buffers;
/// bitmaps and booleans count as 1), or `None` for a type not listed here.
fn buffer_widths(schema: &Schema) -> Option<Vec<usize>> {
    fn field(dt: &DataType, out: &mut Vec<usize>) -> Option<()> {
        out.push(1);
        match dt {
            DataType::Boolean => out.push(1),
            DataType::Utf8 | DataType::Binary => out.extend([4, 1]),
            DataType::LargeUtf8 | DataType::LargeBinary => out.extend([8, 1]),
            DataType::FixedSizeList(child, _) => field(child.data_type(), out)?,
            dt if dt.is_primitive() => out.push(dt.primitive_width()?),
            _ => return None,
        }
        Some(())
    }
    let mut out = Vec::new();
    for f in schema.fields() {
        field(f.data_type(), &mut out)?;
    }
    Some(out)
}

/// Decoded bytes one row of `schema` can take in any single buffer.
/// Values one row of a column of type `t` holds (nested fixed-size lists
/// multiplied out); `None` past `usize`.
fn row_values(t: &DataType) -> Option<usize> {
    match t {
        DataType::FixedSizeList(item, n) => usize::try_from((*n).max(0))
            .ok()?
            .checked_mul(row_values(item.data_type())?),
        _ => Some(1),
    }
}

fn row_bound(schema: &Schema) -> usize {
    fn widest(t: &DataType) -> usize {
        match t {
            DataType::FixedSizeList(item, n) => {
                ((*n).max(0) as usize).saturating_mul(widest(item.data_type()))
            }
            DataType::Utf8 => MAX_STRING_BYTES,
            other => other.primitive_width().unwrap_or(8),
        }
    }
    schema
        .fields()
        .iter()
        .map(|f| widest(f.data_type()))
        .max()
        .unwrap_or(8)
}

/// Reads one encapsulated message, or `None` at the end-of-stream marker
/// (or a clean end of the file).
fn read_message(
    reader: &mut impl Read,
    remaining: &mut u64,
) -> Result<Option<RawMessage>, StreamError> {
    let mut word = [0u8; 4];
    if *remaining == 0 {
        return Ok(None);
    }
    read_exact(reader, remaining, &mut word)?;
    let mut len = u32::from_le_bytes(word);
    if len == CONTINUATION {
        read_exact(reader, remaining, &mut word)?;
        len = u32::from_le_bytes(word);
    }
    if len == 0 {
        return Ok(None);
    }
    let len = len as usize;
    if len > MAX_METADATA_BYTES || len as u64 > *remaining {
        return err(format!(
            "a message states {len} bytes of metadata, {} are left",
            *remaining
        ));
    }
    let mut metadata = vec![0u8; len];
    read_exact(reader, remaining, &mut metadata)?;
    let body_len = root_as_message(&metadata)
        .map_err(|e| StreamError(format!("bad message: {e}")))?
        .bodyLength();
    let body_len = u64::try_from(body_len)
        .ok()
        .filter(|&b| b <= *remaining)
        .ok_or_else(|| {
            StreamError(format!(
                "a message states a {body_len}-byte body, {} bytes are left",
                *remaining
            ))
        })?;
    let mut body = vec![0u8; body_len as usize];
    read_exact(reader, remaining, &mut body)?;
    Ok(Some(RawMessage {
        metadata,
        body: Buffer::from_vec(body),
    }))
}

fn read_exact(
    reader: &mut impl Read,
    remaining: &mut u64,
    out: &mut [u8],
) -> Result<(), StreamError> {
    reader
        .read_exact(out)
        .map_err(|e| StreamError(format!("the file ends inside a message ({e})")))?;
    *remaining = remaining.saturating_sub(out.len() as u64);
    Ok(())
}
