//! The leak-incident register (漏えい等事案) as application functions: the rules of the
//! regimes' deadlines, the APPI triage and the report items ([`rules`], pure).

pub mod rules;
