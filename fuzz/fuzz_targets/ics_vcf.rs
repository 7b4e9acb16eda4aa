//! Export's calendar and contact writers on any JSON an event, task or contact could hold:
//! no panic, every output line folded, no value breaking out of its line.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    qcb_engine::fuzzing::ics_vcf(data);
});
