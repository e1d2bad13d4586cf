//! Reading the support-team directory. Members are added and removed by [`Store::apply`].

use super::rows::StaffRow;
use super::{on_db, Store, StoreError};
use crate::domain::ids::StaffId;
use crate::domain::staff::StaffMember;

const SELECT_MEMBER: &str = "SELECT id, role FROM staff_members WHERE id = $1";
const SELECT_ALL: &str = "SELECT id, role FROM staff_members ORDER BY id";

impl Store {
    /// The support-team member with this id, if there is one.
    pub async fn staff_member(&self, id: &StaffId) -> Result<Option<StaffMember>, StoreError> {
        let row: Option<StaffRow> = on_db!(self, pool => sqlx::query_as(SELECT_MEMBER).bind(id.as_str()).fetch_optional(pool).await)?;
        row.map(StaffMember::try_from).transpose()
    }

    /// The whole team, by id.
    pub async fn staff(&self) -> Result<Vec<StaffMember>, StoreError> {
        let rows: Vec<StaffRow> =
            on_db!(self, pool => sqlx::query_as(SELECT_ALL).fetch_all(pool).await)?;
        super::rows::convert(rows)
    }
}
