//! Contract tests of the Graph emulator, through HTTP.
//!
//! One test binary; the modules live in `tests/integration/`.

mod integration {
    pub mod common;

    mod attachments;
    mod auth;
    mod batch;
    mod binary;
    mod create;
    mod csdl;
    mod delta;
    mod determinism;
    mod faults;
    mod folders;
    mod generator;
    mod identity;
    mod large_tenant;
    mod lazy;
    mod mailbox_export;
    mod mailbox_export_pim;
    mod mailbox_settings;
    mod mime_roundtrip;
    pub mod pim_calendar;
    pub mod pim_contacts;
    mod pim_todo;
    mod quota;
    mod recoverable_items;
    mod request_log;
    mod sdk;
    mod shared_mailboxes;
    mod sim_api;
    mod throttling;
    mod update;
    mod uploads;
    mod users;
}
