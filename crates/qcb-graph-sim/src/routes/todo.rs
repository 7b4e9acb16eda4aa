//! To Do lists and tasks (+ delta), inbox rules (`messageRules`),
//! `mailboxSettings` and `settings/exchange`.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::St;
use super::pim::{
    Ctx, bool_value, context, date_time_tz, invalid_value, json_object, lookup_err, mailbox_index,
    ok_json, paged, respond, string_list, string_or_null, unknown_property,
};
use crate::error::GraphError;
use crate::model::{BodyType, Importance, Mailbox};
use crate::pim::delta::{self, Pos, Scope, State as DeltaState};
use crate::pim::json::{
    exchange_settings_json, linked_resource_json, mailbox_settings_json, rule_json, task_json,
    task_json_linked, todo_list_json,
};
use crate::pim::{Kind, LinkedResource, MessageRule, TodoTask};

type Params = Path<BTreeMap<String, String>>;

fn param<'a>(p: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    p.get(name).map(String::as_str).unwrap_or("")
}

fn list_key(mbx: &Mailbox, lid: &str) -> Result<u64, GraphError> {
    mbx.todo_list_key(lid).map_err(lookup_err)
}

fn path_task<'a>(
    mbx: &'a Mailbox,
    p: &BTreeMap<String, String>,
) -> Result<&'a TodoTask, GraphError> {
    let lk = list_key(mbx, param(p, "lid"))?;
    let k = mbx.task_key(param(p, "tid")).map_err(lookup_err)?;
    mbx.pim
        .tasks
        .get(&k)
        .filter(|t| t.list == lk)
        .ok_or_else(GraphError::item_not_found)
}

// ---------------------------------------------------------------- lists

pub(crate) async fn list_lists(
    State(shared): St,
    Path(uid): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let top = ctx.page_size()?;
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, &uid)?];
        let all = mbx
            .pim
            .todo_lists
            .values()
            .map(|l| todo_list_json(mbx, l, false))
            .collect();
        let v = paged(
            &shared,
            &ctx,
            context(&shared, mbx, "todo/lists"),
            &format!("/users/{}/todo/lists", mbx.user.id),
            all,
            top,
        )?;
        Ok(ok_json(StatusCode::OK, v, &[]))
    })())
}

pub(crate) async fn get_list(
    State(shared): St,
    Path((uid, lid)): Path<(String, String)>,
) -> Response {
    respond((|| {
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, &uid)?];
        let l = &mbx.pim.todo_lists[&list_key(mbx, &lid)?];
        let v = crate::routes::with_context(
            context(&shared, mbx, "todo/lists/$entity"),
            todo_list_json(mbx, l, false),
        );
        Ok(ok_json(StatusCode::OK, v, &[]))
    })())
}

fn list_name(input: &Map<String, Value>) -> Result<String, GraphError> {
    for k in input.keys() {
        if !k.starts_with('@')
            && ![
                "displayName",
                "id",
                "isOwner",
                "isShared",
                "wellknownListName",
            ]
            .contains(&k.as_str())
        {
            return Err(unknown_property(k, "todoTaskList"));
        }
    }
    input
        .get("displayName")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| GraphError::invalid_request("The list's displayName is required."))
}

pub(crate) async fn create_list(
    State(shared): St,
    Path(uid): Path<String>,
    body: Body,
) -> Response {
    respond(
        async {
            let input = json_object(body).await?;
            let name = list_name(&input)?;
            let mut t = shared.lock();
            let i = mailbox_index(&t, &uid)?;
            let mbx = &mut t.mailboxes[i];
            mbx.check_quota(0)?;
            let k = mbx.add_todo_list(&name, "none");
            let v = crate::routes::with_context(
                context(&shared, mbx, "todo/lists/$entity"),
                todo_list_json(mbx, &mbx.pim.todo_lists[&k], false),
            );
            Ok(ok_json(StatusCode::CREATED, v, &[]))
        }
        .await,
    )
}

pub(crate) async fn update_list(
    State(shared): St,
    Path((uid, lid)): Path<(String, String)>,
    body: Body,
) -> Response {
    respond(
        async {
            let input = json_object(body).await?;
            let name = list_name(&input)?;
            let mut t = shared.lock();
            let i = mailbox_index(&t, &uid)?;
            let mbx = &mut t.mailboxes[i];
            let k = list_key(mbx, &lid)?;
            mbx.touch_todo_list(k, |l| l.display_name = name);
            let v = todo_list_json(mbx, &mbx.pim.todo_lists[&k], false);
            Ok(ok_json(StatusCode::OK, v, &[]))
        }
        .await,
    )
}

/// The default list (`defaultList`) cannot be deleted.
pub(crate) async fn delete_list(
    State(shared): St,
    Path((uid, lid)): Path<(String, String)>,
) -> Response {
    respond((|| {
        let mut t = shared.lock();
        let i = mailbox_index(&t, &uid)?;
        let mbx = &mut t.mailboxes[i];
        let k = list_key(mbx, &lid)?;
        if mbx.pim.todo_lists[&k].well_known != "none" {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "ErrorDeleteDistinguishedFolder",
                "Distinguished folders cannot be deleted.",
            ));
        }
        mbx.delete_todo_list(k);
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

pub(crate) async fn lists_delta(
    State(shared): St,
    Path(uid): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let t = shared.lock();
        let i = mailbox_index(&t, &uid)?;
        let mbx = &t.mailboxes[i];
        let base = format!(
            "{}/users/{}/todo/lists/delta",
            shared.graph_url(),
            mbx.user.id
        );
        let st = match delta::resume(
            &t,
            ctx.query.get("$skiptoken"),
            ctx.query.get("$deltatoken"),
            i,
            Scope::TodoLists,
            0,
            &base,
        )? {
            Some(s) => s,
            None => DeltaState::first(t.instance, i, Scope::TodoLists, 0, mbx.seq),
        };
        let mut all: Vec<(Pos, Value)> = mbx
            .pim
            .todo_lists
            .values()
            .filter(|l| l.change_seq <= st.to_seq && (st.initial || l.change_seq > st.from_seq))
            .map(|l| {
                (
                    (l.change_seq, l.key, 0, false),
                    todo_list_json(mbx, l, true),
                )
            })
            .collect();
        for tb in delta::deleted_in_round(&mbx.pim.tombstones, &st, Kind::TodoList, 0) {
            all.push((
                (tb.seq, tb.key, 0, true),
                delta::removed("todoTaskList", mbx.pim_folder_id(tb.key, false)),
            ));
        }
        let c = format!("{}/$metadata#Collection(todoTaskList)", shared.graph_url());
        let size = ctx.delta_size(st.page_size);
        Ok(delta::respond(
            &t.key,
            c,
            &base,
            st,
            all,
            size,
            ctx.applied(true),
        ))
    })())
}

// ---------------------------------------------------------------- tasks

pub(crate) async fn list_tasks(
    State(shared): St,
    Path((uid, lid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let top = ctx.page_size()?;
        let links = expand_links(&ctx)?;
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, &uid)?];
        let lk = list_key(mbx, &lid)?;
        let id = mbx.todo_list_id(lk);
        let all = mbx
            .pim
            .tasks
            .values()
            .filter(|x| x.list == lk)
            .map(|x| {
                if links {
                    task_json_linked(mbx, x)
                } else {
                    task_json(mbx, x, false)
                }
            })
            .collect();
        let v = paged(
            &shared,
            &ctx,
            context(&shared, mbx, &format!("todo/lists('{id}')/tasks")),
            &format!("/users/{}/todo/lists/{id}/tasks", mbx.user.id),
            all,
            top,
        )?;
        Ok(ok_json(StatusCode::OK, v, &[]))
    })())
}

/// `$expand=linkedResources` (the one navigation property of a task this emulator has).
fn expand_links(ctx: &Ctx) -> Result<bool, GraphError> {
    match ctx.query.get("$expand").map(str::trim) {
        None | Some("") => Ok(false),
        Some(x) if x.eq_ignore_ascii_case("linkedResources") => Ok(true),
        Some(x) => Err(GraphError::bad_request(format!(
            "Parsing OData Select and Expand failed: Could not find a property named '{x}' on type 'microsoft.graph.todoTask'."
        ))),
    }
}

/// A `linkedResource` from a request body (create of a task or of the resource itself).
fn linked_resource(v: &Value) -> Result<LinkedResource, GraphError> {
    let e = "linkedResource";
    let Value::Object(m) = v else {
        return Err(invalid_value("linkedResources", "todoTask"));
    };
    let mut l = LinkedResource {
        id: crate::rng::random_guid(),
        web_url: None,
        application_name: None,
        display_name: None,
        external_id: None,
    };
    for (k, v) in m {
        match k.as_str() {
            k if k.starts_with('@') || k == "id" => {}
            "webUrl" => l.web_url = string_or_null(v, k, e)?,
            "applicationName" => l.application_name = string_or_null(v, k, e)?,
            "displayName" => l.display_name = string_or_null(v, k, e)?,
            "externalId" => l.external_id = string_or_null(v, k, e)?,
            _ => return Err(unknown_property(k, e)),
        }
    }
    Ok(l)
}

pub(crate) async fn get_task(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let links = expand_links(&ctx)?;
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        let task = path_task(mbx, &p)?;
        let lid = mbx.todo_list_id(task.list);
        let v = crate::routes::with_context(
            context(&shared, mbx, &format!("todo/lists('{lid}')/tasks/$entity")),
            if links {
                task_json_linked(mbx, task)
            } else {
                task_json(mbx, task, false)
            },
        );
        Ok(ok_json(StatusCode::OK, v, &[]))
    })())
}

const STATUS: &[&str] = &[
    "notStarted",
    "inProgress",
    "completed",
    "waitingOnOthers",
    "deferred",
];

fn opt_time(v: &Value, k: &str) -> Result<Option<DateTime<Utc>>, GraphError> {
    if v.is_null() {
        return Ok(None);
    }
    Ok(Some(date_time_tz(v, k, "todoTask")?.0))
}

fn apply_task(
    task: &mut TodoTask,
    input: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<(), GraphError> {
    let e = "todoTask";
    for (k, v) in input {
        if k.starts_with('@')
            || [
                "id",
                "createdDateTime",
                "lastModifiedDateTime",
                "hasAttachments",
                "bodyLastModifiedDateTime",
            ]
            .contains(&k.as_str())
        {
            continue;
        }
        match k.as_str() {
            "title" => task.title = string_or_null(v, k, e)?.unwrap_or_default(),
            "body" => {
                let o = v.as_object().ok_or_else(|| invalid_value(k, e))?;
                if let Some(ct) = o.get("contentType").and_then(Value::as_str) {
                    task.body_type = BodyType::parse(ct).ok_or_else(|| invalid_value(k, e))?;
                }
                task.body = o
                    .get("content")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                task.body_modified = now;
            }
            "importance" => {
                task.importance = v
                    .as_str()
                    .and_then(Importance::parse)
                    .ok_or_else(|| invalid_value(k, e))?
            }
            "status" => {
                let s = v.as_str().unwrap_or("");
                let s = STATUS
                    .iter()
                    .find(|x| x.eq_ignore_ascii_case(s))
                    .ok_or_else(|| invalid_value(k, e))?;
                // To Do stamps completion when the status becomes completed.
                if *s == "completed"
                    && task.completed.is_none()
                    && !input.contains_key("completedDateTime")
                {
                    task.completed = Some(now);
                }
                if *s != "completed" {
                    task.completed = None;
                }
                task.status = s.to_string();
            }
            "categories" => task.categories = string_list(v, k, e)?,
            "isReminderOn" => task.is_reminder_on = bool_value(v, k, e)?,
            "dueDateTime" => task.due = opt_time(v, k)?,
            "startDateTime" => task.start = opt_time(v, k)?,
            "reminderDateTime" => task.reminder = opt_time(v, k)?,
            "completedDateTime" => task.completed = opt_time(v, k)?,
            // Set on create (deep insert) or through the task's collection, not by an update.
            "linkedResources" => {
                return Err(GraphError::bad_request(
                    "'linkedResources' cannot be changed by an update of a todoTask; use the task's linkedResources collection.",
                ));
            }
            "recurrence" | "checklistItems" | "extensions" | "attachments" => {
                return Err(GraphError::bad_request(format!(
                    "'{k}' is not supported by this emulator on todoTask."
                )));
            }
            _ => return Err(unknown_property(k, e)),
        }
    }
    Ok(())
}

pub(crate) fn new_task(list: u64, now: DateTime<Utc>) -> TodoTask {
    TodoTask {
        key: 0,
        list,
        change_seq: 0,
        created: now,
        last_modified: now,
        title: String::new(),
        body: String::new(),
        body_type: BodyType::Text,
        body_modified: now,
        importance: Importance::Normal,
        status: "notStarted".into(),
        categories: Vec::new(),
        due: None,
        start: None,
        reminder: None,
        is_reminder_on: false,
        completed: None,
        linked: Vec::new(),
    }
}

pub(crate) async fn create_task(
    State(shared): St,
    Path((uid, lid)): Path<(String, String)>,
    body: Body,
) -> Response {
    respond(
        async {
            let mut input = json_object(body).await?;
            // Created with the task (deep insert), as the documented example does.
            let linked = match input.remove("linkedResources") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a.iter().map(linked_resource).collect::<Result<_, _>>()?,
                Some(_) => return Err(invalid_value("linkedResources", "todoTask")),
            };
            let mut t = shared.lock();
            let now = t.now();
            let i = mailbox_index(&t, &uid)?;
            let mbx = &mut t.mailboxes[i];
            let lk = list_key(mbx, &lid)?;
            let mut task = new_task(lk, now);
            apply_task(&mut task, &input, now)?;
            task.linked = linked;
            mbx.check_quota(crate::quota::task_size(&task))?;
            let k = mbx.insert_task(task, now);
            let v = task_json_linked(mbx, &mbx.pim.tasks[&k]);
            let lid = mbx.todo_list_id(lk);
            let v = crate::routes::with_context(
                context(&shared, mbx, &format!("todo/lists('{lid}')/tasks/$entity")),
                v,
            );
            Ok(ok_json(StatusCode::CREATED, v, &[]))
        }
        .await,
    )
}

/// `GET …/tasks/{tid}/linkedResources`.
pub(crate) async fn list_linked(State(shared): St, Path(p): Params) -> Response {
    respond((|| {
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        let task = path_task(mbx, &p)?;
        let lid = mbx.todo_list_id(task.list);
        let tid = mbx.task_id(task);
        let v = serde_json::json!({
            "@odata.context": context(
                &shared,
                mbx,
                &format!("todo/lists('{lid}')/tasks('{tid}')/linkedResources")
            ),
            "value": task.linked.iter().map(linked_resource_json).collect::<Vec<_>>(),
        });
        Ok(ok_json(StatusCode::OK, v, &[]))
    })())
}

/// `POST …/tasks/{tid}/linkedResources`: adds one (a change of the task).
pub(crate) async fn create_linked(State(shared): St, Path(p): Params, body: Body) -> Response {
    respond(
        async {
            let input = json_object(body).await?;
            let l = linked_resource(&Value::Object(input))?;
            let mut t = shared.lock();
            let now = t.now();
            let i = mailbox_index(&t, param(&p, "uid"))?;
            let mbx = &mut t.mailboxes[i];
            let k = path_task(mbx, &p)?.key;
            let v = linked_resource_json(&l);
            mbx.touch_task(k, now, |x| x.linked.push(l));
            Ok(ok_json(StatusCode::CREATED, v, &[]))
        }
        .await,
    )
}

pub(crate) async fn update_task(State(shared): St, Path(p): Params, body: Body) -> Response {
    respond(
        async {
            let input = json_object(body).await?;
            let mut t = shared.lock();
            let now = t.now();
            let i = mailbox_index(&t, param(&p, "uid"))?;
            let mbx = &mut t.mailboxes[i];
            let mut task = path_task(mbx, &p)?.clone();
            apply_task(&mut task, &input, now)?;
            let k = task.key;
            mbx.touch_task(k, now, |x| {
                *x = TodoTask {
                    change_seq: x.change_seq,
                    ..task
                }
            });
            let v = task_json(mbx, &mbx.pim.tasks[&k], false);
            Ok(ok_json(StatusCode::OK, v, &[]))
        }
        .await,
    )
}

pub(crate) async fn delete_task(State(shared): St, Path(p): Params) -> Response {
    respond((|| {
        let mut t = shared.lock();
        let i = mailbox_index(&t, param(&p, "uid"))?;
        let mbx = &mut t.mailboxes[i];
        let k = path_task(mbx, &p)?.key;
        mbx.delete_task(k);
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

pub(crate) async fn tasks_delta(
    State(shared): St,
    Path((uid, lid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let t = shared.lock();
        let i = mailbox_index(&t, &uid)?;
        let mbx = &t.mailboxes[i];
        let lk = list_key(mbx, &lid)?;
        let base = format!(
            "{}/users/{}/todo/lists/{}/tasks/delta",
            shared.graph_url(),
            mbx.user.id,
            mbx.todo_list_id(lk)
        );
        let st = match delta::resume(
            &t,
            ctx.query.get("$skiptoken"),
            ctx.query.get("$deltatoken"),
            i,
            Scope::Tasks,
            lk,
            &base,
        )? {
            Some(s) => s,
            None => {
                let top = ctx.query.usize_option("$top")?;
                DeltaState {
                    page_size: top.map(|n| n.clamp(1, super::pim::MAX_PAGE) as u32),
                    ..DeltaState::first(t.instance, i, Scope::Tasks, lk, mbx.seq)
                }
            }
        };
        let mut all: Vec<(Pos, Value)> = mbx
            .pim
            .tasks
            .values()
            .filter(|x| {
                x.list == lk
                    && x.change_seq <= st.to_seq
                    && (st.initial || x.change_seq > st.from_seq)
            })
            .map(|x| ((x.change_seq, x.key, 0, false), task_json(mbx, x, true)))
            .collect();
        for tb in delta::deleted_in_round(&mbx.pim.tombstones, &st, Kind::TodoTask, lk) {
            all.push((
                (tb.seq, tb.key, 0, true),
                delta::removed(
                    "todoTask",
                    mbx.item_id(tb.key, lk, crate::ids::IdForm::Regular),
                ),
            ));
        }
        let c = format!("{}/$metadata#Collection(todoTask)", shared.graph_url());
        let size = ctx.delta_size(st.page_size);
        Ok(delta::respond(
            &t.key,
            c,
            &base,
            st,
            all,
            size,
            ctx.applied(true),
        ))
    })())
}

// ---------------------------------------------------------------- rules

/// Rules live on the Inbox only.
fn check_inbox(mbx: &Mailbox, fid: &str) -> Result<(), GraphError> {
    let k = mbx.folder_key(fid).map_err(lookup_err)?;
    if mbx
        .folders
        .get(&k)
        .is_some_and(|f| f.well_known == Some("inbox"))
    {
        Ok(())
    } else {
        Err(GraphError::bad_request(
            "Message rules are only supported on the Inbox.",
        ))
    }
}

pub(crate) async fn list_rules(
    State(shared): St,
    Path((uid, fid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let top = ctx.page_size()?.max(1000);
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, &uid)?];
        check_inbox(mbx, &fid)?;
        let mut rules: Vec<&MessageRule> = mbx.pim.rules.values().collect();
        rules.sort_by_key(|r| (r.sequence, r.key));
        let all = rules.into_iter().map(rule_json).collect();
        let v = paged(
            &shared,
            &ctx,
            context(&shared, mbx, "mailFolders('inbox')/messageRules"),
            &format!("/users/{}/mailFolders/inbox/messageRules", mbx.user.id),
            all,
            top,
        )?;
        Ok(ok_json(StatusCode::OK, v, &[]))
    })())
}

pub(crate) async fn get_rule(State(shared): St, Path(p): Params) -> Response {
    respond((|| {
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        check_inbox(mbx, param(&p, "fid"))?;
        let k = mbx.rule_key(param(&p, "rid")).map_err(lookup_err)?;
        let v = crate::routes::with_context(
            context(&shared, mbx, "mailFolders('inbox')/messageRules/$entity"),
            rule_json(&mbx.pim.rules[&k]),
        );
        Ok(ok_json(StatusCode::OK, v, &[]))
    })())
}

const PREDICATES: &[(&str, char)] = &[
    ("bodyContains", 'L'),
    ("bodyOrSubjectContains", 'L'),
    ("categories", 'L'),
    ("fromAddresses", 'R'),
    ("hasAttachments", 'B'),
    ("headerContains", 'L'),
    ("importance", 'I'),
    ("isApprovalRequest", 'B'),
    ("isAutomaticForward", 'B'),
    ("isAutomaticReply", 'B'),
    ("isEncrypted", 'B'),
    ("isMeetingRequest", 'B'),
    ("isMeetingResponse", 'B'),
    ("isNonDeliveryReport", 'B'),
    ("isPermissionControlled", 'B'),
    ("isReadReceipt", 'B'),
    ("isSigned", 'B'),
    ("isVoicemail", 'B'),
    ("messageActionFlag", 'S'),
    ("notSentToMe", 'B'),
    ("recipientContains", 'L'),
    ("senderContains", 'L'),
    ("sensitivity", 'S'),
    ("sentCcMe", 'B'),
    ("sentOnlyToMe", 'B'),
    ("sentToAddresses", 'R'),
    ("sentToMe", 'B'),
    ("sentToOrCcMe", 'B'),
    ("subjectContains", 'L'),
    ("withinSizeRange", 'Z'),
];

const ACTIONS: &[(&str, char)] = &[
    ("assignCategories", 'L'),
    ("copyToFolder", 'F'),
    ("delete", 'B'),
    ("forwardAsAttachmentTo", 'R'),
    ("forwardTo", 'R'),
    ("markAsRead", 'B'),
    ("markImportance", 'I'),
    ("moveToFolder", 'F'),
    ("permanentDelete", 'B'),
    ("redirectTo", 'R'),
    ("stopProcessingRules", 'B'),
];

/// Validates a predicates/actions object against the CSDL member names and
/// types; folder references must name folders of the mailbox.
fn rule_object(
    mbx: &Mailbox,
    v: &Value,
    names: &[(&str, char)],
    entity: &str,
) -> Result<Map<String, Value>, GraphError> {
    let o = v
        .as_object()
        .ok_or_else(|| invalid_value(entity, "messageRule"))?;
    let mut out = Map::new();
    for (k, val) in o {
        if k.starts_with('@') || val.is_null() {
            continue;
        }
        let Some((_, kind)) = names.iter().find(|(n, _)| n == k) else {
            return Err(unknown_property(k, entity));
        };
        let ok = match kind {
            'L' => val
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string)),
            'B' => val.is_boolean(),
            'I' => val.as_str().is_some_and(|s| Importance::parse(s).is_some()),
            'S' => val.is_string(),
            'R' => val.as_array().is_some_and(|a| {
                a.iter()
                    .all(|r| r.get("emailAddress").is_some_and(Value::is_object))
            }),
            'Z' => val.is_object(),
            'F' => match val.as_str() {
                Some(f) => {
                    mbx.folder_key(f).map_err(lookup_err)?;
                    true
                }
                None => false,
            },
            _ => false,
        };
        if !ok {
            return Err(invalid_value(k, entity));
        }
        out.insert(k.clone(), val.clone());
    }
    Ok(out)
}

pub(crate) async fn create_rule(
    State(shared): St,
    Path((uid, fid)): Path<(String, String)>,
    body: Body,
) -> Response {
    respond(
        async {
            let input = json_object(body).await?;
            let mut t = shared.lock();
            let i = mailbox_index(&t, &uid)?;
            let mbx = &mut t.mailboxes[i];
            check_inbox(mbx, &fid)?;
            let mut rule = MessageRule {
                key: 0,
                display_name: String::new(),
                sequence: 0,
                is_enabled: true,
                conditions: Map::new(),
                actions: Map::new(),
                exceptions: None,
            };
            for (k, v) in &input {
                match k.as_str() {
                    "displayName" => {
                        rule.display_name = string_or_null(v, k, "messageRule")?.unwrap_or_default()
                    }
                    "sequence" => {
                        rule.sequence = v.as_i64().ok_or_else(|| invalid_value(k, "messageRule"))?
                    }
                    "isEnabled" => rule.is_enabled = bool_value(v, k, "messageRule")?,
                    "conditions" => {
                        rule.conditions = rule_object(mbx, v, PREDICATES, "messageRulePredicates")?
                    }
                    "exceptions" => {
                        rule.exceptions =
                            Some(rule_object(mbx, v, PREDICATES, "messageRulePredicates")?)
                    }
                    "actions" => rule.actions = rule_object(mbx, v, ACTIONS, "messageRuleActions")?,
                    "id" | "hasError" | "isReadOnly" => {}
                    k if k.starts_with('@') => {}
                    _ => return Err(unknown_property(k, "messageRule")),
                }
            }
            if rule.display_name.trim().is_empty() {
                return Err(GraphError::invalid_request(
                    "The rule's displayName is required.",
                ));
            }
            if rule.actions.is_empty() {
                return Err(GraphError::invalid_request(
                    "A rule needs at least one action.",
                ));
            }
            if rule.sequence == 0 {
                rule.sequence = mbx
                    .pim
                    .rules
                    .values()
                    .map(|r| r.sequence)
                    .max()
                    .unwrap_or(0)
                    + 1;
            }
            let k = mbx.insert_rule(rule);
            let v = crate::routes::with_context(
                context(&shared, mbx, "mailFolders('inbox')/messageRules/$entity"),
                rule_json(&mbx.pim.rules[&k]),
            );
            Ok(ok_json(StatusCode::CREATED, v, &[]))
        }
        .await,
    )
}

pub(crate) async fn delete_rule(State(shared): St, Path(p): Params) -> Response {
    respond((|| {
        let mut t = shared.lock();
        let i = mailbox_index(&t, param(&p, "uid"))?;
        let mbx = &mut t.mailboxes[i];
        check_inbox(mbx, param(&p, "fid"))?;
        let k = mbx.rule_key(param(&p, "rid")).map_err(lookup_err)?;
        mbx.delete_rule(k);
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

// ---------------------------------------------------------------- settings

pub(crate) async fn mailbox_settings(
    State(shared): St,
    Path(uid): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, &uid)?];
        let mut v = mailbox_settings_json(mbx);
        if let (Some(sel), Some(o)) = (ctx.query.select(), v.as_object_mut()) {
            for s in &sel {
                if !o.contains_key(s) {
                    return Err(unknown_property(s, "mailboxSettings"));
                }
            }
            o.retain(|k, _| sel.iter().any(|s| s == k));
        }
        let c = format!(
            "{}/$metadata#users('{}')/mailboxSettings",
            shared.graph_url(),
            mbx.user.id
        );
        Ok(ok_json(
            StatusCode::OK,
            crate::routes::with_context(c, v),
            &[],
        ))
    })())
}

/// `GET /users/{id}/mailboxSettings/{property}` (`userPurpose`,
/// `timeZone`, `automaticRepliesSetting`...): a primitive or enum comes as
/// `{"@odata.context", "value"}`, a complex value as the object itself.
pub(crate) async fn mailbox_setting(State(shared): St, Path(p): Params) -> Response {
    let prop = param(&p, "prop");
    respond((|| {
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        let all = mailbox_settings_json(mbx);
        let Some((name, v)) = all
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(prop.trim())))
        else {
            return Err(GraphError::bad_request(format!(
                "Resource not found for the segment '{prop}'."
            )));
        };
        let c = format!(
            "{}/$metadata#users('{}')/mailboxSettings/{name}",
            shared.graph_url(),
            mbx.user.id
        );
        let body = if v.is_object() {
            crate::routes::with_context(c, v.clone())
        } else {
            serde_json::json!({"@odata.context": c, "value": v})
        };
        Ok(ok_json(StatusCode::OK, body, &[]))
    })())
}

pub(crate) async fn exchange_settings(State(shared): St, Path(uid): Path<String>) -> Response {
    respond((|| {
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, &uid)?];
        let c = format!(
            "{}/$metadata#users('{}')/settings/exchange/$entity",
            shared.graph_url(),
            mbx.user.id
        );
        Ok(ok_json(
            StatusCode::OK,
            crate::routes::with_context(c, exchange_settings_json(mbx)),
            &[],
        ))
    })())
}
