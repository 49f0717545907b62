//! One link's objects of one resource as a virtual, filterable, pageable sequence: objects added
//! through the control API first, then the generated objects by index (deleted ones skipped,
//! patched ones patched). Date filters on date-ordered resources become an index range, so an
//! unfiltered or date-filtered page of a million-object link costs one page of work.

use serde_json::{Map, Value};

use crate::data::{self, LinkCtx, Resource, WriteCache};
use crate::filters::{Filter, Query, date_index_range};
use crate::state::Overlay;

/// A snapshot of one link's collection under a set of filters.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub ctx: LinkCtx,
    pub res: Resource,
    overlay: Overlay,
    lo: u64,
    hi: u64,
    residual: Vec<Filter>,
    added: Vec<usize>,
    /// Matching generated objects.
    gen_count: u64,
    /// No per-object check needed: every live index in `[lo, hi)` matches.
    fast: bool,
}

impl Segment {
    pub(crate) fn new(
        ctx: LinkCtx,
        res: Resource,
        overlay: Overlay,
        filters: &[Filter],
    ) -> Segment {
        let n = data::len(&ctx, res);
        let ((lo, hi), residual) = match res.date_field() {
            Some(field) => date_index_range(filters, field, ctx.as_of, n),
            None => ((0, n), filters.to_vec()),
        };
        let added = overlay
            .added
            .iter()
            .enumerate()
            .filter(|(_, v)| filters.iter().all(|f| f.matches(v)))
            .map(|(i, _)| i)
            .collect();
        // Patches never touch the date field (the control API turns such an edit into a
        // delete plus an add), so only non-date filters need a per-object check.
        let fast = residual.is_empty() || lo == hi;
        let mut seg = Segment {
            ctx,
            res,
            overlay,
            lo,
            hi,
            residual,
            added,
            gen_count: 0,
            fast,
        };
        seg.gen_count = if seg.fast {
            (hi - lo) - seg.overlay.deleted.range(lo..hi).count() as u64
        } else {
            let mut c = 0;
            let mut cache = WriteCache::default();
            for i in lo..hi {
                if !seg.overlay.deleted.contains(&i) && seg.matches(i, &mut cache) {
                    c += 1;
                }
            }
            c
        };
        seg
    }

    pub(crate) fn count(&self) -> u64 {
        self.added.len() as u64 + self.gen_count
    }

    /// Generated object `i` with its patch applied.
    fn value(&self, i: u64) -> Value {
        let mut v = data::item(&self.ctx, self.res, i);
        if let (Some(p), Value::Object(m)) = (self.overlay.modified.get(&i), &mut v) {
            merge(m, p);
        }
        v
    }

    /// Whether generated object `i` passes the residual filters (patched objects are checked
    /// on their patched JSON).
    fn matches(&self, i: u64, cache: &mut WriteCache) -> bool {
        if self.overlay.modified.contains_key(&i) {
            let v = self.value(i);
            return self.residual.iter().all(|f| f.matches(&v));
        }
        data::matches(&self.ctx, self.res, i, cache, &self.residual)
    }

    /// The `k`-th live index at or after `lo` (skipping deleted ones).
    fn nth_live(&self, k: u64) -> u64 {
        let mut cand = self.lo + k;
        loop {
            let d = self.overlay.deleted.range(self.lo..=cand).count() as u64;
            let next = self.lo + k + d;
            if next == cand {
                return cand;
            }
            cand = next;
        }
    }

    /// Hands generated object `i` to `f`: as JSON when the query trims fields or the object
    /// was modified, else for the fast path to write directly.
    fn emit(
        &self,
        i: u64,
        q: Option<&Query>,
        trims: bool,
        f: &mut dyn FnMut(Item<'_>) -> Result<(), serde_json::Error>,
    ) -> Result<(), serde_json::Error> {
        if trims || self.overlay.modified.contains_key(&i) {
            let mut v = self.value(i);
            if let Some(q) = q {
                q.trim(&mut v);
            }
            f(Item::Value(v))
        } else {
            f(Item::Generated(&self.ctx, self.res, i))
        }
    }

    /// Visits matching objects `offset..offset+limit` in order.
    pub(crate) fn for_each(
        &self,
        offset: u64,
        limit: u64,
        q: Option<&Query>,
        f: &mut dyn FnMut(Item<'_>) -> Result<(), serde_json::Error>,
    ) -> Result<(), serde_json::Error> {
        let mut skip = offset;
        let mut left = limit;
        for &a in &self.added {
            if left == 0 {
                return Ok(());
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let mut v = self.overlay.added[a].clone();
            if let Some(q) = q {
                q.trim(&mut v);
            }
            f(Item::Value(v))?;
            left -= 1;
        }
        if left == 0 {
            return Ok(());
        }
        let trims = q.is_some_and(Query::trims);
        if self.fast {
            if skip >= self.gen_count {
                return Ok(());
            }
            let mut i = self.nth_live(skip);
            while left > 0 && i < self.hi {
                if !self.overlay.deleted.contains(&i) {
                    self.emit(i, q, trims, f)?;
                    left -= 1;
                }
                i += 1;
            }
            return Ok(());
        }
        let mut cache = WriteCache::default();
        for i in self.lo..self.hi {
            if left == 0 {
                break;
            }
            if self.overlay.deleted.contains(&i) || !self.matches(i, &mut cache) {
                continue;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            self.emit(i, q, trims, f)?;
            left -= 1;
        }
        Ok(())
    }
}

/// An object to write: already JSON, or generated on the fast path.
pub(crate) enum Item<'a> {
    Value(Value),
    Generated(&'a LinkCtx, Resource, u64),
}

impl Item<'_> {
    pub(crate) fn write(
        self,
        cache: &mut WriteCache,
        out: &mut Vec<u8>,
    ) -> Result<(), serde_json::Error> {
        match self {
            Item::Value(v) => serde_json::to_writer(out, &v),
            Item::Generated(ctx, res, i) => data::write_item(ctx, res, i, cache, out),
        }
    }

    pub(crate) fn into_value(self) -> Value {
        match self {
            Item::Value(v) => v,
            Item::Generated(ctx, res, i) => data::item(ctx, res, i),
        }
    }
}

/// Shallow merge of a patch into an object (nested objects merge too).
pub(crate) fn merge(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (k, v) in patch {
        match (target.get_mut(k), v) {
            (Some(Value::Object(t)), Value::Object(p)) => merge(t, p),
            _ => {
                target.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Several links' segments paged as one list.
#[derive(Debug, Clone, Default)]
pub(crate) struct Listing {
    pub segments: Vec<Segment>,
}

impl Listing {
    pub(crate) fn count(&self) -> u64 {
        self.segments.iter().map(Segment::count).sum()
    }

    /// Writes objects `offset..offset+limit` as comma-separated JSON into `out`.
    pub(crate) fn write_page(
        &self,
        offset: u64,
        limit: u64,
        q: Option<&Query>,
        out: &mut Vec<u8>,
    ) -> Result<u64, serde_json::Error> {
        let mut skip = offset;
        let mut left = limit;
        let mut written = 0u64;
        for seg in &self.segments {
            if left == 0 {
                break;
            }
            let c = seg.count();
            if skip >= c {
                skip -= c;
                continue;
            }
            let mut cache = WriteCache::default();
            let take = left.min(c - skip);
            seg.for_each(skip, take, q, &mut |item| {
                if written > 0 {
                    out.push(b',');
                }
                written += 1;
                item.write(&mut cache, out)
            })?;
            left -= take;
            skip = 0;
        }
        Ok(written)
    }

    /// Objects `offset..offset+limit` as JSON values.
    pub(crate) fn values(&self, offset: u64, limit: u64) -> Vec<Value> {
        let mut v = Vec::new();
        let mut skip = offset;
        let mut left = limit;
        for seg in &self.segments {
            let c = seg.count();
            if skip >= c {
                skip -= c;
                continue;
            }
            let take = left.min(c - skip);
            let _ = seg.for_each(skip, take, None, &mut |item| {
                v.push(item.into_value());
                Ok(())
            });
            left -= take;
            skip = 0;
            if left == 0 {
                break;
            }
        }
        v
    }
}
