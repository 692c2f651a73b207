//! Reading one whole file as one document, for `compare` and `align`.

use anyhow::Result;
use lookalike::corpus::{
    self, Document, Notice, ReadOptions, Sink, Source, SourceKind, Utf8Policy,
};

use crate::args::Utf8Arg;

struct One(Option<Document>);

impl Sink for One {
    fn document(&mut self, doc: Document) -> lookalike::Result<()> {
        self.0 = Some(doc);
        Ok(())
    }
    fn notice(&mut self, notice: Notice) {
        eprintln!("lookalike: warning: {notice}");
    }
}

/// The text of `path`, read whole whatever its name says.
pub fn read_whole(path: &std::path::Path, utf8: Utf8Arg) -> Result<String> {
    let opts = ReadOptions {
        invalid_utf8: match utf8 {
            Utf8Arg::Replace => Utf8Policy::Replace,
            Utf8Arg::Skip => Utf8Policy::Skip,
            Utf8Arg::Fail => Utf8Policy::Fail,
        },
        ..ReadOptions::default()
    };
    let mut source = Source::open(path)?;
    if source.kind == SourceKind::Directory {
        anyhow::bail!(
            "{}: is a directory; this command takes two files",
            source.display
        );
    }
    source.kind = SourceKind::Text;
    let mut one = One(None);
    corpus::read_source(&source, &opts, &mut one)?;
    Ok(one.0.map(|d| d.text).unwrap_or_default())
}
