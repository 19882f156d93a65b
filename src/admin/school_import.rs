//! Importing an authority's schools from a GIAS extract, the second of two steps: `gias` reads
//! and checks the whole file (pure), `import` then applies the records inside the caller's
//! transaction, auditing each change.
//!
//! Schools missing from the file are left alone: an extract may cover part of the authority, and
//! a school closes through its "Closed" status, never through being absent.

pub use super::gias::{LineError, SchoolRecord, parse_gias};

use crate::audit;
use serde_json::{Value, json};
use sqlx::PgConnection;
use std::collections::HashMap;
use uuid::Uuid;

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// Applies `records` (from `parse_gias`) to `tenant_id`'s schools: adds new URNs, updates schools
/// whose fields differ, and leaves the rest, writing an audit event for each change and one for
/// the import. Nothing is written when nothing differs, so importing the same file twice is a
/// no-op.
///
/// Run it inside one transaction (such as `Db::tenant_tx`) and commit only on `Ok`, so a failure
/// part-way leaves nothing half-imported.
pub async fn import(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor_id: Option<Uuid>,
    actor_email: &str,
    records: &[SchoolRecord],
) -> Result<ImportSummary, sqlx::Error> {
    let existing = existing_schools(conn, tenant_id, records).await?;
    let steps = plan(&existing, records, Uuid::new_v4);
    let mut summary = ImportSummary::default();
    for step in &steps {
        match step {
            Step::Add { id, record } => {
                sqlx::query(
                    "INSERT INTO school (id, tenant_id, urn, name, phase, la_code, status)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id)
                .bind(tenant_id)
                .bind(record.urn)
                .bind(&record.name)
                .bind(record.phase.as_str())
                .bind(&record.la_code)
                .bind(record.status.as_str())
                .execute(&mut *conn)
                .await?;
                let event = audit::Event::new("school.added")
                    .tenant(Some(tenant_id))
                    .actor(actor_id, actor_email)
                    .school(Some(*id))
                    .subject("school", id)
                    .after(fields_json(record));
                audit::record(conn, &event).await?;
                summary.added += 1;
            }
            Step::Update { id, before, after } => {
                let done = sqlx::query(
                    "UPDATE school
                     SET name = $3, phase = $4, la_code = $5, status = $6, updated_at = now()
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant_id)
                .bind(id)
                .bind(&after.name)
                .bind(after.phase.as_str())
                .bind(&after.la_code)
                .bind(after.status.as_str())
                .execute(&mut *conn)
                .await?;
                // The row was read and locked in this transaction, so it can only be missing if
                // row-level security hides it: a tenant mix-up, which must not pass silently.
                if done.rows_affected() != 1 {
                    return Err(sqlx::Error::RowNotFound);
                }
                let event = audit::Event::new("school.updated")
                    .tenant(Some(tenant_id))
                    .actor(actor_id, actor_email)
                    .school(Some(*id))
                    .subject("school", id)
                    .before(fields_json(before))
                    .after(fields_json(after));
                audit::record(conn, &event).await?;
                summary.updated += 1;
            }
            Step::Keep => summary.unchanged += 1,
        }
    }
    if summary.added + summary.updated > 0 {
        let event = audit::Event::new("schools.imported")
            .tenant(Some(tenant_id))
            .actor(actor_id, actor_email)
            .after(json!({
                "added": summary.added,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
            }));
        audit::record(conn, &event).await?;
    }
    Ok(summary)
}

/// The tenant's schools with the file's URNs, locked so a concurrent import or edit cannot change
/// them between the comparison and the update.
async fn existing_schools(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    records: &[SchoolRecord],
) -> Result<HashMap<i32, (Uuid, SchoolRecord)>, sqlx::Error> {
    let urns: Vec<i32> = records.iter().map(|r| r.urn).collect();
    let rows: Vec<(Uuid, i32, String, String, String, String)> = sqlx::query_as(
        "SELECT id, urn, name, phase, la_code, status
         FROM school
         WHERE tenant_id = $1 AND urn = ANY($2)
         FOR UPDATE",
    )
    .bind(tenant_id)
    .bind(&urns)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(id, urn, name, phase, la_code, status)| {
            let record = SchoolRecord {
                urn,
                name,
                phase: phase
                    .parse()
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                la_code,
                status: status
                    .parse()
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            };
            Ok((urn, (id, record)))
        })
        .collect()
}

/// What to do with one record.
#[derive(Debug, PartialEq)]
enum Step<'a> {
    Add {
        id: Uuid,
        record: &'a SchoolRecord,
    },
    Update {
        id: Uuid,
        before: SchoolRecord,
        after: &'a SchoolRecord,
    },
    Keep,
}

/// Decides, per record in file order, whether it is new, changed or the same as the school with
/// its URN in `existing`. A URN given twice (which `parse_gias` refuses) ends as its last record.
fn plan<'a>(
    existing: &HashMap<i32, (Uuid, SchoolRecord)>,
    records: &'a [SchoolRecord],
    mut new_id: impl FnMut() -> Uuid,
) -> Vec<Step<'a>> {
    let mut current: HashMap<i32, (Uuid, SchoolRecord)> = existing.clone();
    records
        .iter()
        .map(|record| match current.get_mut(&record.urn) {
            None => {
                let id = new_id();
                current.insert(record.urn, (id, record.clone()));
                Step::Add { id, record }
            }
            Some((_, known)) if known == record => Step::Keep,
            Some((id, known)) => {
                let before = std::mem::replace(known, record.clone());
                Step::Update {
                    id: *id,
                    before,
                    after: record,
                }
            }
        })
        .collect()
}

/// A school's imported fields as the audit log keeps them, in database values.
fn fields_json(record: &SchoolRecord) -> Value {
    json!({
        "urn": record.urn,
        "name": record.name,
        "phase": record.phase.as_str(),
        "la_code": record.la_code,
        "status": record.status.as_str(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::school_types::{Phase, SchoolStatus};

    fn record(urn: i32, name: &str) -> SchoolRecord {
        SchoolRecord {
            urn,
            name: name.into(),
            phase: Phase::Primary,
            la_code: "999".into(),
            status: SchoolStatus::Open,
        }
    }

    fn ids() -> impl FnMut() -> Uuid {
        let mut n = 0u128;
        move || {
            n += 1;
            Uuid::from_u128(n)
        }
    }

    #[test]
    fn plan_adds_new_updates_changed_and_keeps_the_same() {
        let known = Uuid::from_u128(100);
        let changed = Uuid::from_u128(200);
        let existing = HashMap::from([
            (1, (known, record(1, "Same School"))),
            (2, (changed, record(2, "Old Name"))),
            (9, (Uuid::from_u128(900), record(9, "Not In The File"))),
        ]);
        let records = [
            record(1, "Same School"),
            record(2, "New Name"),
            record(3, "Brand New"),
        ];
        assert_eq!(
            plan(&existing, &records, ids()),
            [
                Step::Keep,
                Step::Update {
                    id: changed,
                    before: record(2, "Old Name"),
                    after: &records[1],
                },
                Step::Add {
                    id: Uuid::from_u128(1),
                    record: &records[2],
                },
            ]
        );
    }

    #[test]
    fn plan_sees_a_change_in_any_field() {
        let id = Uuid::from_u128(7);
        let base = record(1, "School");
        let existing = HashMap::from([(1, (id, base.clone()))]);
        let variants = [
            SchoolRecord {
                phase: Phase::Secondary,
                ..base.clone()
            },
            SchoolRecord {
                la_code: "998".into(),
                ..base.clone()
            },
            SchoolRecord {
                status: SchoolStatus::Closed,
                ..base.clone()
            },
        ];
        for variant in &variants {
            assert!(matches!(
                plan(&existing, std::slice::from_ref(variant), ids()).as_slice(),
                [Step::Update { .. }]
            ));
        }
    }

    #[test]
    fn plan_ends_a_repeated_urn_at_its_last_record() {
        let records = [record(1, "First"), record(1, "Second"), record(1, "Second")];
        let steps = plan(&HashMap::new(), &records, ids());
        assert_eq!(
            steps,
            [
                Step::Add {
                    id: Uuid::from_u128(1),
                    record: &records[0],
                },
                Step::Update {
                    id: Uuid::from_u128(1),
                    before: record(1, "First"),
                    after: &records[1],
                },
                Step::Keep,
            ]
        );
    }
}
