use vigil_extract::{IndicatorKind, normalize};
use vigil_store::IndicatorReport;

use crate::limits::{MAX_INDICATOR_BYTES, check_bytes};
use crate::{Query, QueryError};

const DEFAULT_DOCUMENTS: usize = 10;
const MAX_DOCUMENTS: usize = 100;

impl Query {
    /// One indicator, written any way the extractor understands it.
    pub async fn lookup_indicator(
        &self,
        kind: IndicatorKind,
        raw_value: &str,
        max_documents: usize,
    ) -> Result<IndicatorReport, QueryError> {
        let max_documents = match max_documents {
            0 => DEFAULT_DOCUMENTS,
            n if n > MAX_DOCUMENTS => {
                return Err(QueryError::invalid("max_documents", format!("is {n}, over the limit of {MAX_DOCUMENTS}")));
            }
            n => n,
        };
        check_bytes("value", raw_value, MAX_INDICATOR_BYTES)?;
        let value =
            normalize(kind, raw_value).map_err(|error| QueryError::invalid("value", format!("is wrong: {error}")))?;
        self.store
            .indicator_report(kind, value.clone(), max_documents)
            .await?
            .ok_or_else(|| QueryError::NotFound(format!("{kind} {value}")))
    }
}
