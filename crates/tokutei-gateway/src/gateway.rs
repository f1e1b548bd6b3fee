//! The compiled gateway: one Cedar policy set per active policy version, sliced per
//! (action, purpose), and decisions per (subscriber, category) with reasons.
//!
//! Three engines give the same answers: [`Gateway::decide_plain`] evaluates the whole policy
//! set (the reference), [`Gateway::decide_uncached`] evaluates only the slice for the
//! request's action and purpose, and [`Gateway::decide`] adds the decision cache on top.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
    RestrictedExpression, Schema,
};
use serde::Serialize;
use tokutei_policy::{Policy, PolicyDigest, Tier};

use crate::cache::{CacheKey, CacheStats, DecisionCache, Verdict};
use crate::compile::{self, CompileError, NAMESPACE, Problem, Rule};
use crate::reason::{Reason, Subject, code};
use crate::request::{AccessRequest, Action, Deployment, Principal, PrincipalKind, SubscriberFacts};

/// The decision for one category of one subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub subscriber: String,
    pub category: String,
    pub allowed: bool,
    /// Why it was refused (empty when allowed).
    pub reasons: Vec<Reason>,
    /// The Cedar policies that determined the decision: the permit that allowed it, or the
    /// forbids that refused it (empty when nothing permitted it).
    pub policies: Vec<String>,
    /// The mask the value must be shown through, when allowed and the purpose asks for one.
    pub mask: Option<String>,
}

/// A decision explained: the decisions and the text of the policies that determined them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub decisions: Vec<Decision>,
    pub policies: Vec<ExplainedPolicy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExplainedPolicy {
    pub id: String,
    pub clause: String,
    pub text: String,
}

/// The policy file compiled for one deployment.
#[derive(Debug)]
pub struct Gateway {
    policy: Policy,
    digest: PolicyDigest,
    schema: Schema,
    schema_text: String,
    rules: Vec<Rule>,
    rule_index: HashMap<String, usize>,
    full: PolicySet,
    /// `action.index() * purposes + purpose`.
    slices: Vec<PolicySet>,
    purposes: HashMap<String, usize>,
    categories: HashMap<String, (u32, Tier)>,
    deployment_rules: bool,
    authorizer: Authorizer,
    principal_type: EntityTypeName,
    datum_type: EntityTypeName,
    actions: [EntityUid; 4],
    tz: jiff::tz::TimeZone,
    cache: DecisionCache,
}

fn tier_id(tier: Tier) -> &'static str {
    match tier {
        Tier::SecrecyOfCommunications => "secrecy_of_communications",
        Tier::RegisteredUserDb => "registered_user_db",
        Tier::Other => "other",
    }
}

/// A date as the Long Cedar compares: `YYYYMMDD`.
fn day(date: jiff::civil::Date) -> i64 {
    i64::from(date.year()) * 10_000 + i64::from(date.month()) * 100 + i64::from(date.day())
}

fn internal(message: String) -> CompileError {
    CompileError {
        problems: vec![Problem { source: "generated".to_string(), policy: None, line: None, column: None, message }],
    }
}

impl Gateway {
    /// Compile `policy` for `deployment`, adding the deployment's own Cedar policies
    /// (`(name, text)` pairs, e.g. file names and contents). Everything is validated against
    /// the generated schema; errors name the source, the policy and the position.
    pub fn compile(
        policy: &Policy,
        deployment: &Deployment,
        extra_cedar: &[(&str, &str)],
    ) -> Result<Gateway, CompileError> {
        let schema_text = compile::schema_text(deployment);
        let schema = Schema::from_cedarschema_str(&schema_text)
            .map(|(schema, _warnings)| schema)
            .map_err(|e| internal(format!("the generated schema does not parse: {e}")))?;
        let mut rules = compile::generate(policy, deployment);
        let mut problems = Vec::new();
        for (name, text) in extra_cedar {
            match compile::deployment_rules(name, text) {
                Ok(more) => rules.extend(more),
                Err(p) => problems.push(p),
            }
        }
        if !problems.is_empty() {
            return Err(CompileError { problems });
        }
        let full = compile::build(&rules, &schema, extra_cedar)?;
        let purpose_count = policy.purposes.list.len();
        let mut slices = Vec::with_capacity(Action::ALL.len() * purpose_count);
        for action in Action::ALL {
            for purpose in 0..purpose_count {
                let mut slice = PolicySet::new();
                for rule in &rules {
                    let action_fits = rule.actions.is_none_or(|a| a.contains(&action));
                    let purpose_fits = rule.purpose.is_none_or(|p| p == purpose);
                    if action_fits && purpose_fits {
                        let p = full
                            .policy(&cedar_policy::PolicyId::new(&rule.id))
                            .ok_or_else(|| internal(format!("policy `{}` vanished from the set", rule.id)))?;
                        slice.add(p.clone()).map_err(|e| internal(e.to_string()))?;
                    }
                }
                slices.push(slice);
            }
        }
        let name = |s: &str| {
            s.parse::<EntityTypeName>().map_err(|e| internal(format!("entity type `{s}` does not parse: {e}")))
        };
        let action_uid = |a: Action| -> Result<EntityUid, CompileError> {
            Ok(EntityUid::from_type_name_and_id(name(&format!("{NAMESPACE}::Action"))?, EntityId::new(a.id())))
        };
        let actions = [
            action_uid(Action::Read)?,
            action_uid(Action::Update)?,
            action_uid(Action::Export)?,
            action_uid(Action::Erase)?,
        ];
        let categories = policy
            .categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), (u32::try_from(i).unwrap_or(u32::MAX), c.tier)))
            .collect();
        Ok(Gateway {
            digest: PolicyDigest::of(policy),
            policy: policy.clone(),
            schema,
            schema_text,
            rule_index: rules.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect(),
            deployment_rules: rules.iter().any(|r| r.deployment),
            rules,
            full,
            slices,
            purposes: policy.purposes.list.iter().enumerate().map(|(i, p)| (p.id.clone(), i)).collect(),
            categories,
            authorizer: Authorizer::new(),
            principal_type: name(&format!("{NAMESPACE}::Principal"))?,
            datum_type: name(&format!("{NAMESPACE}::Datum"))?,
            actions,
            tz: tokutei_policy::tokyo::zone(),
            cache: DecisionCache::default(),
        })
    }

    /// The digest of the policy version this gateway enforces.
    pub fn digest(&self) -> &PolicyDigest {
        &self.digest
    }

    /// The generated Cedar schema.
    pub fn schema_text(&self) -> &str {
        &self.schema_text
    }

    /// Every policy, generated and deployment, in Cedar syntax with its annotations.
    pub fn cedar_text(&self) -> String {
        let mut out = String::new();
        for rule in &self.rules {
            out.push_str(&rule.text);
            out.push_str("\n\n");
        }
        out
    }

    /// How many policies the full set and the largest slice hold.
    pub fn policy_counts(&self) -> (usize, usize) {
        let largest = self.slices.iter().map(|s| s.policies().count()).max().unwrap_or(0);
        (self.rules.len(), largest)
    }

    /// Decide every category of the request, through the decision cache.
    pub fn decide(&self, req: &AccessRequest<'_>) -> Vec<Decision> {
        let Some(&purpose) = self.purposes.get(req.purpose) else {
            // Not in the policy: always evaluated in full, never cached.
            return self.evaluate(req, Engine::Plain);
        };
        let today = self.today(req.now);
        let mut out = Vec::with_capacity(req.categories.len());
        let mut misses = Vec::new();
        for (n, category) in req.categories.iter().enumerate() {
            let key = self.categories.get(category.as_str()).map(|&(c, _)| self.key(req, purpose, c, today));
            match key.as_ref().and_then(|k| self.cache.get(k)) {
                Some(verdict) => out.push(Some(decision(req, category, &verdict))),
                None => {
                    out.push(None);
                    misses.push((n, key));
                }
            }
        }
        if !misses.is_empty() {
            let generation = self.cache.generation();
            let wanted: Vec<&String> = misses.iter().map(|(n, _)| &req.categories[*n]).collect();
            let verdicts = self.verdicts(req, &wanted, Engine::Sliced);
            for ((n, key), verdict) in misses.into_iter().zip(verdicts) {
                out[n] = Some(decision(req, &req.categories[n], &verdict));
                if let Some(key) = key {
                    self.cache.insert(key, Arc::new(verdict), generation);
                }
            }
        }
        out.into_iter().flatten().collect()
    }

    /// Decide evaluating only the request's slice of the policy set, without the cache.
    pub fn decide_uncached(&self, req: &AccessRequest<'_>) -> Vec<Decision> {
        self.evaluate(req, Engine::Sliced)
    }

    /// Decide evaluating the whole policy set, without the cache: the reference engine.
    pub fn decide_plain(&self, req: &AccessRequest<'_>) -> Vec<Decision> {
        self.evaluate(req, Engine::Plain)
    }

    /// The decisions (never cached) and the text of the policies that determined them.
    pub fn explain(&self, req: &AccessRequest<'_>) -> Explanation {
        let decisions = self.evaluate(req, Engine::Plain);
        let mut ids: Vec<&str> = decisions.iter().flat_map(|d| d.policies.iter().map(String::as_str)).collect();
        ids.sort_unstable();
        ids.dedup();
        let policies = ids
            .into_iter()
            .filter_map(|id| self.rule_index.get(id).map(|&i| &self.rules[i]))
            .map(|r| ExplainedPolicy { id: r.id.clone(), clause: r.clause.clone(), text: r.text.clone() })
            .collect();
        Explanation { decisions, policies }
    }

    /// The categories a purpose may use, in policy-file order (empty for an unknown purpose).
    pub fn purpose_categories(&self, purpose: &str) -> &[String] {
        self.policy.purpose(purpose).map_or(&[], |p| p.categories.as_slice())
    }

    /// Forget every cached decision about this principal. Call on any change of its roles,
    /// data range, purposes, zones or training (bumping its version does the same).
    pub fn invalidate_principal(&self, principal_id: &str) {
        self.cache.invalidate_where(|k| k.principal == principal_id);
    }

    /// Forget every cached decision that names this subscriber. Decisions are cached on the
    /// subscriber's facts themselves (service, contract, consent for the purpose), so a
    /// consent or contract change is never judged by an old decision even without this call;
    /// it is kept for deployment policies, whose cached decisions name the subscriber.
    pub fn invalidate_subscriber(&self, subscriber_id: &str) {
        self.cache.invalidate_where(|k| k.subscriber.as_deref() == Some(subscriber_id));
    }

    /// Forget every cached decision.
    pub fn invalidate_all(&self) {
        self.cache.clear();
    }

    /// The cache's generation counter (bumped by every invalidation) and counters.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    fn today(&self, now: jiff::Timestamp) -> i64 {
        day(self.tz.to_datetime(now).date())
    }

    fn key(&self, req: &AccessRequest<'_>, purpose: usize, category: u32, today: i64) -> CacheKey {
        let consent = match req.subscriber.choice(req.purpose) {
            None => 0,
            Some(crate::request::ConsentChoice::OptedIn) => 1,
            Some(crate::request::ConsentChoice::OptedOut) => 2,
        };
        CacheKey {
            principal: req.principal.id.clone(),
            principal_version: req.principal.version,
            purpose: u32::try_from(purpose).unwrap_or(u32::MAX),
            action: req.action,
            category,
            service: req.subscriber.service.clone(),
            contract: req.subscriber.contract,
            consent,
            stopped: u8::from(req.subscriber.use_stopped) | (u8::from(req.subscriber.provision_stopped) << 1),
            channel: req.channel,
            zone: req.zone.map(str::to_string),
            zone_secrecy: req.zone_secrecy,
            export_approval: req.export_approval.map(str::to_string),
            today,
            subscriber: self.deployment_rules.then(|| req.subscriber.id.clone()),
        }
    }

    fn evaluate(&self, req: &AccessRequest<'_>, engine: Engine) -> Vec<Decision> {
        let wanted: Vec<&String> = req.categories.iter().collect();
        let verdicts = self.verdicts(req, &wanted, engine);
        req.categories.iter().zip(verdicts).map(|(c, v)| decision(req, c, &v)).collect()
    }

    /// Evaluate Cedar for each category in `categories`.
    fn verdicts(&self, req: &AccessRequest<'_>, categories: &[&String], engine: Engine) -> Vec<Verdict> {
        let purpose = self.purposes.get(req.purpose).copied();
        let set = match (engine, purpose) {
            (Engine::Sliced, Some(p)) => &self.slices[req.action.index() * self.purposes.len() + p],
            _ => &self.full,
        };
        let today = self.today(req.now);
        let built = self.entities(req, categories).and_then(|(entities, uids)| {
            let context = self.context(req, today)?;
            Ok((entities, uids, context))
        });
        let (entities, uids, context) = match built {
            Ok(b) => b,
            Err(message) => {
                let reason = Reason::new(
                    code::EVALUATION_ERROR,
                    "gateway",
                    Subject { purpose: req.purpose, category: "", detail: &message },
                );
                return categories
                    .iter()
                    .map(|_| Verdict { allowed: false, reasons: vec![reason.clone()], policies: vec![], mask: None })
                    .collect();
            }
        };
        let principal = self.principal_uid(req.principal);
        categories
            .iter()
            .zip(uids)
            .map(|(category, resource)| {
                let request = Request::new(
                    principal.clone(),
                    self.actions[req.action.index()].clone(),
                    resource,
                    context.clone(),
                    None,
                );
                match request {
                    Ok(request) => {
                        let response = self.authorizer.is_authorized(&request, set, &entities);
                        self.verdict(req, purpose, category, &response)
                    }
                    Err(e) => Verdict {
                        allowed: false,
                        reasons: vec![Reason::new(
                            code::EVALUATION_ERROR,
                            "gateway",
                            Subject { purpose: req.purpose, category, detail: &e.to_string() },
                        )],
                        policies: vec![],
                        mask: None,
                    },
                }
            })
            .collect()
    }

    fn verdict(
        &self,
        req: &AccessRequest<'_>,
        purpose: Option<usize>,
        category: &str,
        response: &cedar_policy::Response,
    ) -> Verdict {
        let mut policies: Vec<String> = response.diagnostics().reason().map(ToString::to_string).collect();
        policies.sort_unstable();
        let mut reasons = Vec::new();
        // Fail closed: a policy that could not be evaluated (a forbid among them) refuses.
        for error in response.diagnostics().errors() {
            let cedar_policy::AuthorizationError::PolicyEvaluationError(e) = error;
            let id = e.policy_id().to_string();
            reasons.push(Reason::new(
                code::EVALUATION_ERROR,
                &id,
                Subject { purpose: req.purpose, category, detail: &id },
            ));
        }
        let allowed = response.decision() == cedar_policy::Decision::Allow && reasons.is_empty();
        if response.decision() == cedar_policy::Decision::Deny {
            for id in &policies {
                let Some(rule) = self.rule_index.get(id).map(|&i| &self.rules[i]) else { continue };
                reasons.push(Reason::new(
                    &rule.code,
                    &rule.clause,
                    Subject { purpose: req.purpose, category, detail: &rule.detail },
                ));
            }
            if policies.is_empty() {
                let clause =
                    purpose.map_or_else(|| "purposes.list".to_string(), |i| format!("purposes.list[{i}].categories"));
                reasons.push(Reason::new(
                    code::CATEGORY_NOT_IN_PURPOSE,
                    &clause,
                    Subject { purpose: req.purpose, category, detail: "" },
                ));
            }
        }
        // Masks are how a purpose shows a value; an erasure shows none.
        let mask = if allowed && req.action != Action::Erase {
            self.policy.purpose(req.purpose).and_then(|p| p.masking.get(category)).cloned()
        } else {
            None
        };
        Verdict { allowed, reasons, policies, mask }
    }

    fn principal_uid(&self, principal: &Principal) -> EntityUid {
        EntityUid::from_type_name_and_id(self.principal_type.clone(), EntityId::new(&principal.id))
    }

    fn entities(&self, req: &AccessRequest<'_>, categories: &[&String]) -> Result<(Entities, Vec<EntityUid>), String> {
        let principal = req.principal;
        let strings = |items: &mut dyn Iterator<Item = String>| {
            RestrictedExpression::new_set(items.map(RestrictedExpression::new_string))
        };
        let mut attrs: HashMap<String, RestrictedExpression> = HashMap::new();
        let mut training: HashMap<String, i64> = HashMap::new();
        match &principal.kind {
            PrincipalKind::Person { role, training: records } => {
                attrs.insert("kind".into(), RestrictedExpression::new_string("person".into()));
                let role = serde_json::to_value(role).ok().and_then(|v| v.as_str().map(str::to_string));
                attrs.insert("role".into(), RestrictedExpression::new_string(role.unwrap_or_default()));
                for record in records {
                    if self.schema_has_course(&record.course) {
                        let until = day(record.valid_until);
                        let best = training.entry(record.course.clone()).or_insert(until);
                        *best = (*best).max(until);
                    }
                }
            }
            PrincipalKind::System { name } => {
                attrs.insert("kind".into(), RestrictedExpression::new_string("system".into()));
                attrs.insert("system".into(), RestrictedExpression::new_string(name.clone()));
            }
        }
        attrs.insert(
            "data_range".into(),
            strings(
                &mut principal
                    .data_range
                    .iter()
                    .flat_map(|r| r.categories.iter().map(|c| format!("{}/{c}", r.service))),
            ),
        );
        attrs.insert("purposes".into(), strings(&mut principal.purposes.iter().cloned()));
        attrs.insert("zones".into(), strings(&mut principal.zones.iter().cloned()));
        attrs.insert("actions".into(), strings(&mut principal.actions.iter().map(|a| a.id().to_string())));
        attrs.insert(
            "training".into(),
            RestrictedExpression::new_record(training.into_iter().map(|(k, v)| (k, RestrictedExpression::new_long(v))))
                .map_err(|e| e.to_string())?,
        );
        let mut entities =
            vec![Entity::new(self.principal_uid(principal), attrs, HashSet::new()).map_err(|e| e.to_string())?];
        let subscriber = req.subscriber;
        let mut uids = Vec::with_capacity(categories.len());
        let mut seen = HashSet::new();
        for category in categories {
            let uid = self.datum_uid(subscriber, category);
            uids.push(uid.clone());
            if !seen.insert(category.as_str()) {
                continue;
            }
            entities.push(self.datum(subscriber, req.purpose, category, uid)?);
        }
        let entities = Entities::from_entities(entities, None).map_err(|e| e.to_string())?;
        Ok((entities, uids))
    }

    fn schema_has_course(&self, course: &str) -> bool {
        self.rules.iter().any(|r| r.code == code::TRAINING_EXPIRED && r.detail == course && !r.deployment)
    }

    fn datum_uid(&self, subscriber: &SubscriberFacts, category: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(
            self.datum_type.clone(),
            EntityId::new(format!("{}/{category}", subscriber.id)),
        )
    }

    fn datum(
        &self,
        subscriber: &SubscriberFacts,
        purpose: &str,
        category: &str,
        uid: EntityUid,
    ) -> Result<Entity, String> {
        let tier = self.categories.get(category).map_or(Tier::Other, |&(_, t)| t);
        let s = |v: &str| RestrictedExpression::new_string(v.to_string());
        let mut attrs: HashMap<String, RestrictedExpression> = HashMap::from([
            ("subscriber".to_string(), s(&subscriber.id)),
            ("service".to_string(), s(&subscriber.service)),
            ("category".to_string(), s(category)),
            ("tier".to_string(), s(tier_id(tier))),
            ("range_key".to_string(), s(&format!("{}/{category}", subscriber.service))),
            ("contract".to_string(), s(subscriber.contract.code())),
            ("consent".to_string(), s(subscriber.choice(purpose).map_or("none", |c| c.code()))),
            ("use_stopped".to_string(), RestrictedExpression::new_bool(subscriber.use_stopped)),
            ("provision_stopped".to_string(), RestrictedExpression::new_bool(subscriber.provision_stopped)),
        ]);
        if let crate::request::Contract::Terminated { on } = subscriber.contract {
            attrs.insert("terminated_on".to_string(), RestrictedExpression::new_long(day(on)));
        }
        Entity::new(uid, attrs, HashSet::new()).map_err(|e| e.to_string())
    }

    fn context(&self, req: &AccessRequest<'_>, today: i64) -> Result<Context, String> {
        let mut pairs = vec![
            ("purpose".to_string(), RestrictedExpression::new_string(req.purpose.to_string())),
            ("today".to_string(), RestrictedExpression::new_long(today)),
        ];
        if let Some(channel) = req.channel {
            pairs.push(("channel".to_string(), RestrictedExpression::new_string(channel.id().to_string())));
        }
        if let Some(zone) = req.zone {
            pairs.push(("zone".to_string(), RestrictedExpression::new_string(zone.to_string())));
        }
        if let Some(secrecy) = req.zone_secrecy {
            pairs.push(("zone_secrecy".to_string(), RestrictedExpression::new_bool(secrecy)));
        }
        if let Some(approval) = req.export_approval {
            pairs.push(("export_approval".to_string(), RestrictedExpression::new_string(approval.to_string())));
        }
        Context::from_pairs(pairs).map_err(|e| e.to_string())
    }

    /// Check a request's Cedar inputs against the schema (used by tests and `policy check`).
    pub fn validate_request(&self, req: &AccessRequest<'_>) -> Result<(), String> {
        let wanted: Vec<&String> = req.categories.iter().collect();
        let (entities, uids) = self.entities(req, &wanted)?;
        let entities_list: Vec<Entity> = entities.iter().cloned().collect();
        Entities::from_entities(entities_list, Some(&self.schema)).map_err(|e| e.to_string())?;
        let context = self.context(req, self.today(req.now))?;
        for uid in uids {
            Request::new(
                self.principal_uid(req.principal),
                self.actions[req.action.index()].clone(),
                uid,
                context.clone(),
                Some(&self.schema),
            )
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Plain,
    Sliced,
}

fn decision(req: &AccessRequest<'_>, category: &str, verdict: &Verdict) -> Decision {
    Decision {
        subscriber: req.subscriber.id.clone(),
        category: category.to_string(),
        allowed: verdict.allowed,
        reasons: verdict.reasons.clone(),
        policies: verdict.policies.clone(),
        mask: verdict.mask.clone(),
    }
}
