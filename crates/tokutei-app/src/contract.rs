//! Changing a subscriber's contract state.

use jiff::Timestamp;
use tokutei_ledger::{Actor, AdminAction};
use tokutei_store::vault::{Contract as StoreContract, ContractState};

use crate::App;
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};

impl App {
    /// Change a subscriber's contract state, then audit it.
    pub fn set_contract(
        &self,
        actor: Actor,
        subscriber: &str,
        contract: &StoreContract,
        at: Timestamp,
    ) -> ActionResult<()> {
        if (contract.state == ContractState::Terminated) != contract.terminated_on.is_some() {
            return Err(ActionError::BadRequest(
                "a termination date is needed exactly when the contract is terminated".into(),
            ));
        }
        self.stores().set_contract(subscriber, contract)?;
        let mut details = vec![("state".to_string(), contract.state.id().to_string())];
        if let Some(on) = contract.terminated_on {
            details.push(("terminated_on".to_string(), on.to_string()));
        }
        let mut entry = AdminEntry::new(AdminAction::ContractChanged, subscriber);
        entry.details = details;
        self.audit_admin(actor, entry, at).map(|_| ())
    }
}
