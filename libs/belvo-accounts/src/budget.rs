//! A service's share of a region's Belvo budget, shared by its replicas through the service's
//! own database (issue 12): one row per region in `belvo_budgets`, holding the budget's
//! [`belvo::Ledger`], read and written under a row lock with the database's clock, so every
//! replica counts against one ledger and one time. On SQLite (one replica) the ledger stays
//! in the process.

use std::time::Duration;

use belvo::{Ledger, Limits, SharedLedger, Taking};
use database::{Backend, Database};
use sqlx::Row as _;

/// One region's ledger in `belvo_budgets`.
#[derive(Debug)]
pub(crate) struct DatabaseLedger {
    db: Database,
    region: String,
}

impl DatabaseLedger {
    /// The ledger of `region` in `db`; `None` on SQLite, where the process keeps it.
    pub(crate) fn new(db: &Database, region: &str) -> Option<Self> {
        (db.backend() == Backend::Postgres).then(|| Self {
            db: db.clone(),
            region: region.to_owned(),
        })
    }

    async fn take_in_database(&self, limits: Limits) -> Result<Result<(), Duration>, sqlx::Error> {
        let mut tx = self.db.pool().begin().await?;
        sqlx::query(
            "INSERT INTO belvo_budgets (region, ledger) VALUES ($1, '') \
             ON CONFLICT (region) DO NOTHING",
        )
        .bind(&self.region)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT ledger, (extract(epoch from clock_timestamp()) * 1000)::bigint AS now_ms \
             FROM belvo_budgets WHERE region = $1 FOR UPDATE",
        )
        .bind(&self.region)
        .fetch_one(&mut *tx)
        .await?;
        let mut ledger = Ledger::decode(row.try_get("ledger")?);
        let taken = ledger.take(limits, row.try_get("now_ms")?);
        if taken.is_ok() {
            sqlx::query("UPDATE belvo_budgets SET ledger = $2 WHERE region = $1")
                .bind(&self.region)
                .bind(ledger.encode())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(taken)
    }
}

impl SharedLedger for DatabaseLedger {
    fn take(&self, limits: Limits) -> Taking<'_> {
        Box::pin(async move { self.take_in_database(limits).await.map_err(Into::into) })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use belvo::{Priority, RateBudget, busiest_window};
    use database::testing::TestDatabase;
    use tokio::time::Instant;

    use super::*;

    /// Two replicas (two budgets over one row) never go over the share together.
    #[tokio::test]
    async fn replicas_share_one_ledger_in_postgres() {
        let Some(db) = TestDatabase::new(Backend::Postgres).await else {
            return;
        };
        sqlx::raw_sql(include_str!(
            "../../../services/data-service/migrations/0011_belvo_budgets.sql"
        ))
        .execute(db.pool())
        .await
        .unwrap();
        let per = Duration::from_secs(1);
        let replica = || {
            let ledger = DatabaseLedger::new(db.db(), "mx").unwrap();
            RateBudget::shared(4, per, Arc::new(ledger))
        };
        let (a, b) = (replica(), replica());
        let start = Instant::now();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let calls = (0..12).map(|n| {
            let budget = if n % 2 == 0 { a.clone() } else { b.clone() };
            let sent = sent.clone();
            tokio::spawn(async move {
                budget.acquire(Priority::Update).await;
                sent.lock().unwrap().push(start.elapsed());
            })
        });
        for call in calls.collect::<Vec<_>>() {
            call.await.unwrap();
        }
        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 12);
        assert!(busiest_window(&sent, per) <= 4, "{sent:?}");
        // 12 calls at 4 a window: at least two windows went by.
        assert!(start.elapsed() >= 2 * per, "{:?}", start.elapsed());
        assert!(DatabaseLedger::new(&TestDatabase::sqlite().await.db().clone(), "mx").is_none());
    }
}
