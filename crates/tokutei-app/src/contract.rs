//! A subscriber's contract state (active, suspended, terminated), the one way every front end
//! changes it (`tokutei contract set`): the subscriber exists, the day of the change is not
//! before the contract started, the one changing it is in the staff registry (a person of any
//! role, or a system such as the CRM) → the `contract_changed` entry (the state and the day in
//! the details) is durable → the contract is stored. The gateway reads the contract on every
//! request, so the change applies to the very next one.

use jiff::Timestamp;
use tokutei_ledger::AdminAction;
use tokutei_policy::Date;
use tokutei_store::vault::{Contract, ContractState};

use crate::App;
use crate::acting::{ALL_ROLES, Acting};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::SubscriberId;

impl App {
    /// Put `subscriber`'s contract in `state` from the day `on` (default: today in
    /// Asia/Tokyo), audit first; the day the contract started is kept. Refused, with nothing
    /// written: an unknown subscriber ([`ActionError::NotFound`]), a day before the contract
    /// started ([`ActionError::Invalid`] naming `on`), one acting who is not in the registry
    /// or is disabled. Returns the contract as stored.
    pub fn change_contract(
        &self,
        by: &Acting,
        subscriber: &SubscriberId,
        state: ContractState,
        on: Option<Date>,
        now: Timestamp,
    ) -> ActionResult<Contract> {
        let Some(current) = self.stores().subscriber(subscriber.as_str())? else {
            return Err(ActionError::NotFound(format!("subscriber `{subscriber}`")));
        };
        let day = on.unwrap_or_else(|| tokutei_policy::tokyo::date_of(now));
        if day < current.contract.started_on {
            return Err(ActionError::invalid(
                "on",
                format!("`{day}` is before the contract started ({})", current.contract.started_on),
            ));
        }
        let actor = self.authorize_or_system(by, ALL_ROLES, "change a contract")?;
        let contract = Contract {
            state,
            started_on: current.contract.started_on,
            suspended_on: (state == ContractState::Suspended).then_some(day),
            terminated_on: (state == ContractState::Terminated).then_some(day),
        };
        let mut entry = AdminEntry::new(AdminAction::ContractChanged, subscriber.as_str()).detail("state", state.id());
        if let Some(on) = contract.suspended_on {
            entry = entry.detail("suspended_on", on);
        }
        if let Some(on) = contract.terminated_on {
            entry = entry.detail("terminated_on", on);
        }
        self.audit_admin(actor, entry, now)?;
        self.stores().set_contract(subscriber.as_str(), &contract)?;
        Ok(contract)
    }
}
