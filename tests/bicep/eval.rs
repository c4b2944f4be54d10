//! Evaluates a parsed Bicep deployment the way ARM would: parameters (checked against their
//! decorators), variables, string interpolation, the functions and operators the templates use,
//! modules with their conditions and scopes, resource and module references. Runtime values come
//! from `placeholders`.
//!
//! It is deliberately partial and strict: an unknown function, operator, name or runtime
//! property is an error that names it and the file, never a guess. Conditionals are lazy, as in
//! ARM, so the branch of a front door that is not deployed is never evaluated.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::Parsed;
use super::placeholders::{self, RESOURCE_MANAGER, ResourceFacts, SUBSCRIPTION_ID, TENANT_ID};

type Result<T> = std::result::Result<T, String>;

/// Resource types whose declarations are deployment scopes rather than resources in a group.
const RESOURCE_GROUP_TYPE: &str = "Microsoft.Resources/resourceGroups";
/// Declaration keys that relate resources rather than configure them.
const RELATION_KEYS: [&str; 3] = ["parent", "scope", "dependsOn"];

/// One resource the deployment creates, evaluated.
#[derive(Debug, Clone)]
pub struct DeployedResource {
    /// The `.bicep` file declaring it.
    pub file: String,
    /// Module path from `main`, e.g. `main/functionApp`.
    pub module_path: String,
    /// Its symbolic name in the file.
    pub symbol: String,
    /// ARM type, e.g. `Microsoft.Web/sites`.
    pub type_: String,
    /// ARM name.
    pub name: String,
    /// ARM resource id.
    pub id: String,
    /// The declaration evaluated, without `parent`, `scope` and `dependsOn`.
    pub config: Value,
    /// The id of the resource named by `scope:` (extension resources such as role assignments).
    pub scope_id: Option<String>,
}

/// What a deployment of `main` creates and outputs.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// Every output of the main template.
    pub outputs: BTreeMap<String, Value>,
    /// Every resource created, in every deployed module (not the `existing` references).
    pub resources: Vec<DeployedResource>,
}

impl Deployment {
    /// Evaluates `file` (a subscription- or resource-group-scoped template) with `params`.
    pub fn evaluate(parsed: &Parsed, file: &str, params: Vec<(String, Value)>) -> Result<Self> {
        let scope = Scope::new(parsed, file.to_owned(), params, None, "main".to_owned())?;
        let mut resources = Vec::new();
        scope.collect_resources(&mut resources)?;
        Ok(Deployment {
            outputs: scope.outputs()?,
            resources,
        })
    }

    /// The resources of one type.
    pub fn of_type(&self, type_: &str) -> Vec<&DeployedResource> {
        self.resources
            .iter()
            .filter(|r| r.type_.eq_ignore_ascii_case(type_))
            .collect()
    }

    /// The one resource of `type_`; panics naming the type when there are none or several.
    pub fn only(&self, type_: &str) -> &DeployedResource {
        match self.of_type(type_).as_slice() {
            [one] => one,
            other => panic!("expected exactly one {type_}, found {}", other.len()),
        }
    }

    /// The output `name` as a string; panics naming it when absent or not a string.
    pub fn output(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("output {name} is missing or not a string"))
    }
}

/// One template instance: a file with its parameters bound, in a resource group.
struct Scope<'p> {
    parsed: &'p Parsed,
    file: String,
    template: &'p Value,
    params: BTreeMap<String, Value>,
    resource_group: Option<String>,
    path: String,
}

impl<'p> Scope<'p> {
    fn new(
        parsed: &'p Parsed,
        file: String,
        given: Vec<(String, Value)>,
        resource_group: Option<String>,
        path: String,
    ) -> Result<Self> {
        let template = parsed.template(&file)?;
        let declared = object_or_empty(&template["parameters"]);
        if let Some((name, _)) = given.iter().find(|(n, _)| !declared.contains_key(n)) {
            return Err(format!("{file} has no parameter {name}"));
        }
        let mut scope = Scope {
            parsed,
            file,
            template,
            params: BTreeMap::new(),
            resource_group,
            path,
        };
        for (name, declaration) in declared {
            let value = match given.iter().find(|(n, _)| n == name) {
                Some((_, value)) => value.clone(),
                None => match declaration.get("default") {
                    Some(default) => scope.eval(default)?,
                    None => {
                        return Err(format!("parameter {name} of {} has no value", scope.file));
                    }
                },
            };
            check_parameter(&scope.file, name, declaration, &value)?;
            scope.params.insert(name.clone(), value);
        }
        Ok(scope)
    }

    fn fail<T>(&self, what: impl std::fmt::Display) -> Result<T> {
        Err(format!("{} ({}): {what}", self.file, self.path))
    }

    // ---- declarations ----------------------------------------------------------------------

    fn declaration(&self, section: &str, name: &str) -> Option<&'p Value> {
        self.template.get(section)?.get(name)
    }

    /// `(condition, config)` of a resource or module declaration.
    fn conditional_config(declaration: &'p Value) -> (Option<&'p Value>, &'p Value) {
        let config = &declaration["config"];
        match (config.get("condition"), config.get("config")) {
            (Some(condition), Some(inner)) => (Some(condition), inner),
            _ => (None, config),
        }
    }

    fn is_deployed(&self, condition: Option<&Value>) -> Result<bool> {
        match condition {
            None => Ok(true),
            Some(condition) => match self.eval(condition)? {
                Value::Bool(b) => Ok(b),
                other => self.fail(format!("condition is not a bool: {other}")),
            },
        }
    }

    // ---- expressions -------------------------------------------------------------------------

    fn eval(&self, expr: &Value) -> Result<Value> {
        match expr {
            Value::Array(items) => items
                .iter()
                .map(|item| self.eval(item))
                .collect::<Result<Vec<_>>>()
                .map(Value::Array),
            Value::Object(map) => {
                if let Some(name) = single(map, "$ref") {
                    return self.reference(name.as_str().unwrap_or_default());
                }
                if let Some(parts) = single(map, "$interp") {
                    return self.interpolate(parts);
                }
                if let Some(pairs) = single(map, "$object") {
                    return self.object_with_computed_keys(pairs);
                }
                if let Some(operator) = single(map, "operator") {
                    return self.operator(operator);
                }
                if let Some(function) = single(map, "function") {
                    return self.function(function);
                }
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.eval(v)?)))
                    .collect::<Result<Map<_, _>>>()
                    .map(Value::Object)
            }
            literal => Ok(literal.clone()),
        }
    }

    fn reference(&self, name: &str) -> Result<Value> {
        if let Some(value) = self.params.get(name) {
            return Ok(value.clone());
        }
        if let Some(variable) = self.declaration("variables", name) {
            return self.eval(&variable["value"]);
        }
        if self.declaration("resources", name).is_some()
            || self.declaration("modules", name).is_some()
        {
            return self.fail(format!(
                "{name} is used as a value; only its properties (name.property) are supported"
            ));
        }
        self.fail(format!("unknown name {name}"))
    }

    fn interpolate(&self, parts: &Value) -> Result<Value> {
        let mut text = String::new();
        for part in parts.as_array().into_iter().flatten() {
            match self.eval(part)? {
                Value::String(s) => text.push_str(&s),
                Value::Number(n) => text.push_str(&n.to_string()),
                Value::Bool(b) => text.push_str(if b { "True" } else { "False" }),
                other => return self.fail(format!("cannot interpolate {other}")),
            }
        }
        Ok(Value::String(text))
    }

    fn object_with_computed_keys(&self, pairs: &Value) -> Result<Value> {
        let mut object = Map::new();
        for pair in pairs.as_array().into_iter().flatten() {
            let key = match self.eval(&pair[0])? {
                Value::String(key) => key,
                other => return self.fail(format!("an object key must be a string: {other}")),
            };
            object.insert(key, self.eval(&pair[1])?);
        }
        Ok(Value::Object(object))
    }

    fn operator(&self, operator: &Value) -> Result<Value> {
        let operands = &operator["operands"];
        let kind = operator["type"].as_str().unwrap_or_default();
        match kind {
            "conditional" => match self.eval(&operands["condition"])? {
                Value::Bool(true) => self.eval(&operands["true_value"]),
                Value::Bool(false) => self.eval(&operands["false_value"]),
                other => self.fail(format!(
                    "the condition of ?: is {other}, not a bool (parenthesise comparisons: pycep-parser binds `a == b ? x : y` as `a == (b ? x : y)`)"
                )),
            },
            "equals" | "not_equals" => {
                let equal = self.eval(&operands["operand_1"])? == self.eval(&operands["operand_2"])?;
                Ok(Value::Bool(equal == (kind == "equals")))
            }
            "greater_than" | "greater_than_or_equals" | "less_than" | "less_than_or_equals" => {
                let (a, b) = (
                    self.eval(&operands["operand_1"])?,
                    self.eval(&operands["operand_2"])?,
                );
                let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) else {
                    return self.fail(format!("{kind} needs two integers, got {a} and {b}"));
                };
                Ok(Value::Bool(match kind {
                    "greater_than" => a > b,
                    "greater_than_or_equals" => a >= b,
                    "less_than" => a < b,
                    _ => a <= b,
                }))
            }
            "property_accessor" => self.property(&operands["operand_1"], &operands["operand_2"]),
            other => self.fail(format!("operator {other} is not supported")),
        }
    }

    /// `base.a.b.c`: pycep-parser nests the chain to the right (`base.(a.(b.c))`).
    fn property(&self, base: &Value, chain: &Value) -> Result<Value> {
        let mut path = Vec::new();
        self.flatten_chain(chain, &mut path)?;
        if let Some(name) = base.get("$ref").and_then(Value::as_str) {
            if self.declaration("resources", name).is_some() && !self.params.contains_key(name) {
                return self.resource_property(name, &path);
            }
            if self.declaration("modules", name).is_some() {
                return self.module_output(name, &path);
            }
        }
        let value = self.eval(base)?;
        self.index(value, &path)
    }

    fn flatten_chain(&self, chain: &Value, path: &mut Vec<String>) -> Result<()> {
        if let Some(name) = chain.get("$ref").and_then(Value::as_str) {
            path.push(name.to_owned());
            return Ok(());
        }
        if let Some(name) = chain.as_str() {
            path.push(name.to_owned());
            return Ok(());
        }
        match chain.get("operator") {
            Some(op) if op["type"] == "property_accessor" => {
                self.flatten_chain(&op["operands"]["operand_1"], path)?;
                self.flatten_chain(&op["operands"]["operand_2"], path)
            }
            _ => self.fail(format!("unsupported property access: .{chain}")),
        }
    }

    fn index(&self, mut value: Value, path: &[String]) -> Result<Value> {
        for name in path {
            value = match value.get(name) {
                Some(v) => v.clone(),
                None => return self.fail(format!("{value} has no property {name}")),
            };
        }
        Ok(value)
    }

    fn module_output(&self, module: &str, path: &[String]) -> Result<Value> {
        let [outputs, name, rest @ ..] = path else {
            return self.fail(format!(
                "{module}.{} is not a module output",
                path.join(".")
            ));
        };
        if outputs != "outputs" {
            return self.fail(format!(
                "{module}.{} is not a module output",
                path.join(".")
            ));
        }
        let scope = self.module_scope(module)?;
        let value = scope.output(name)?;
        self.index(value, rest)
    }

    // ---- functions ---------------------------------------------------------------------------

    fn function(&self, function: &Value) -> Result<Value> {
        let name = function["type"].as_str().unwrap_or_default();
        let parameters = object_or_empty(&function["parameters"]);
        let arg = |key: &str| -> Result<Value> {
            match parameters.get(key) {
                Some(v) => self.eval(v),
                None => self.fail(format!("{name}() lacks its {key} argument")),
            }
        };
        let property = function["property_name"].as_str();
        let result = match name {
            // any() only silences the Bicep CLI's type checker; ARM sees its argument.
            "any" => arg("value")?,
            "to_lower" => Value::String(self.string(arg("string_to_change")?)?.to_lowercase()),
            "unique_string" | "guid" => {
                let seed =
                    self.strings(&numbered(parameters, &["base_string", "extra_string_"]))?;
                let seed: Vec<&str> = seed.iter().map(String::as_str).collect();
                Value::String(if name == "guid" {
                    placeholders::guid(&seed)
                } else {
                    placeholders::unique_string(&seed)
                })
            }
            "subscription" => {
                if parameters
                    .get("subscription_id")
                    .is_some_and(|v| !v.is_null())
                {
                    return self.fail("subscription(id) of another subscription is not supported");
                }
                match property {
                    Some("subscriptionId") => Value::from(SUBSCRIPTION_ID),
                    Some("id") => Value::String(format!("/subscriptions/{SUBSCRIPTION_ID}")),
                    other => {
                        return self.fail(format!("subscription().{other:?} is not supported"));
                    }
                }
            }
            "tenant" => match property {
                Some("tenantId") => Value::from(TENANT_ID),
                other => return self.fail(format!("tenant().{other:?} is not supported")),
            },
            "environment" => match property {
                Some("resourceManager") => Value::from(RESOURCE_MANAGER),
                other => return self.fail(format!("environment().{other:?} is not supported")),
            },
            "resource_group" => match (property, &self.resource_group) {
                (Some("name"), Some(rg)) => Value::String(rg.clone()),
                _ => {
                    return self.fail(format!(
                        "resourceGroup().{property:?} is not supported here"
                    ));
                }
            },
            "split" => {
                let text = self.string(arg("input_string")?)?;
                let delimiter = self.string(arg("delimiter")?)?;
                Value::Array(text.split(delimiter.as_str()).map(Value::from).collect())
            }
            "empty" => Value::Bool(match arg("item_to_test")? {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                other => return self.fail(format!("empty() of {other}")),
            }),
            "concat" | "union" => {
                let args = numbered(parameters, &["arg_"])
                    .iter()
                    .map(|v| self.eval(v))
                    .collect::<Result<Vec<_>>>()?;
                self.combine(name, args)?
            }
            "subscription_resource_id" => {
                if parameters
                    .get("subscription_id")
                    .is_some_and(|v| !v.is_null())
                {
                    return self
                        .fail("subscriptionResourceId() with a subscription id is not supported");
                }
                let type_ = self.string(arg("resource_type")?)?;
                let mut id = format!("/subscriptions/{SUBSCRIPTION_ID}/providers/{type_}");
                for key in ["resource_name_1", "resource_name_2"] {
                    if parameters.get(key).is_some_and(|v| !v.is_null()) {
                        id.push('/');
                        id.push_str(&self.string(arg(key)?)?);
                    }
                }
                Value::String(id)
            }
            other => return self.fail(format!("function {other}() is not supported")),
        };
        match function.get("index") {
            None => Ok(result),
            Some(index) => {
                let index = self.eval(index)?;
                let item = match (&result, &index) {
                    (Value::Array(items), Value::Number(n)) => {
                        n.as_u64().and_then(|i| items.get(i as usize)).cloned()
                    }
                    (Value::Object(map), Value::String(key)) => map.get(key).cloned(),
                    _ => None,
                };
                item.map_or_else(
                    || self.fail(format!("{result}[{index}] does not exist")),
                    Ok,
                )
            }
        }
    }

    fn combine(&self, name: &str, args: Vec<Value>) -> Result<Value> {
        if args.iter().all(Value::is_array) {
            return Ok(Value::Array(
                args.into_iter()
                    .flat_map(|a| a.as_array().cloned().unwrap_or_default())
                    .collect(),
            ));
        }
        if name == "concat" && args.iter().all(Value::is_string) {
            return Ok(Value::String(
                args.iter().filter_map(Value::as_str).collect::<String>(),
            ));
        }
        if name == "union" && args.iter().all(Value::is_object) {
            let mut merged = Map::new();
            for arg in args {
                merged.extend(arg.as_object().cloned().unwrap_or_default());
            }
            return Ok(Value::Object(merged));
        }
        self.fail(format!("{name}() of mixed or unsupported arguments"))
    }

    fn string(&self, value: Value) -> Result<String> {
        match value {
            Value::String(s) => Ok(s),
            other => self.fail(format!("expected a string, got {other}")),
        }
    }

    fn strings(&self, values: &[&Value]) -> Result<Vec<String>> {
        values
            .iter()
            .map(|v| self.eval(v).and_then(|v| self.string(v)))
            .collect()
    }

    // ---- resources and modules ---------------------------------------------------------------

    fn resource_config(&self, symbol: &str) -> Result<(&'p Value, Option<&'p Value>)> {
        let Some(declaration) = self.declaration("resources", symbol) else {
            return self.fail(format!("unknown resource {symbol}"));
        };
        let (condition, config) = Self::conditional_config(declaration);
        Ok((config, condition))
    }

    fn resource_type(&self, symbol: &str) -> Result<&'p str> {
        match self
            .declaration("resources", symbol)
            .and_then(|d| d["type"].as_str())
        {
            Some(t) => Ok(t),
            None => self.fail(format!("resource {symbol} has no type")),
        }
    }

    fn resource_name(&self, symbol: &str) -> Result<String> {
        let (config, _) = self.resource_config(symbol)?;
        let name = self.eval(&config["name"])?;
        self.string(name)
    }

    fn resource_id(&self, symbol: &str) -> Result<String> {
        let type_ = self.resource_type(symbol)?;
        let (config, _) = self.resource_config(symbol)?;
        let name = self.resource_name(symbol)?;
        if type_.eq_ignore_ascii_case(RESOURCE_GROUP_TYPE) {
            return Ok(format!(
                "/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{name}"
            ));
        }
        let last_segment = type_.rsplit('/').next().unwrap_or(type_);
        if let Some(parent) = config.get("parent").and_then(|p| p["$ref"].as_str()) {
            return Ok(format!(
                "{}/{last_segment}/{name}",
                self.resource_id(parent)?
            ));
        }
        if let Some(scope) = config.get("scope").and_then(|s| s["$ref"].as_str()) {
            return Ok(format!(
                "{}/providers/{type_}/{name}",
                self.resource_id(scope)?
            ));
        }
        match &self.resource_group {
            Some(rg) => Ok(format!(
                "/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}/providers/{type_}/{name}"
            )),
            None => self.fail(format!("{symbol} is not in a resource group")),
        }
    }

    fn resource_property(&self, symbol: &str, path: &[String]) -> Result<Value> {
        let (config, _) = self.resource_config(symbol)?;
        let type_ = self.resource_type(symbol)?;
        match path.first().map(String::as_str) {
            Some("name") if path.len() == 1 => return self.resource_name(symbol).map(Value::from),
            Some("id") if path.len() == 1 => return self.resource_id(symbol).map(Value::from),
            _ => {}
        }
        let name = self.resource_name(symbol)?;
        let id = self.resource_id(symbol)?;
        let location = match config.get("location") {
            Some(location) => Some(self.string(self.eval(location)?)?),
            None => None,
        };
        let facts = ResourceFacts {
            type_,
            name: &name,
            id: &id,
            location: location.as_deref(),
        };
        let joined = path.join(".");
        match placeholders::runtime_property(&facts, &joined) {
            Some(value) => Ok(value),
            None => self.fail(format!(
                "no stand-in for the runtime value {symbol}.{joined} of {type_}; add one to tests/bicep/placeholders.rs"
            )),
        }
    }

    fn module_scope(&self, module: &str) -> Result<Scope<'p>> {
        let Some(declaration) = self.declaration("modules", module) else {
            return self.fail(format!("unknown module {module}"));
        };
        let (condition, config) = Self::conditional_config(declaration);
        if !self.is_deployed(condition)? {
            return self.fail(format!(
                "module {module} is not deployed with these parameters"
            ));
        }
        let Some(relative) = declaration["detail"]["path"].as_str() else {
            return self.fail(format!("module {module} is not a local file"));
        };
        let file = resolve(&self.file, relative);
        let resource_group = match config.get("scope") {
            None => self.resource_group.clone(),
            Some(scope) => match scope["$ref"].as_str() {
                Some(rg)
                    if self
                        .resource_type(rg)
                        .is_ok_and(|t| t.eq_ignore_ascii_case(RESOURCE_GROUP_TYPE)) =>
                {
                    Some(self.resource_name(rg)?)
                }
                _ => return self.fail(format!("module {module}: unsupported scope {scope}")),
            },
        };
        let params = object_or_empty(&config["params"])
            .iter()
            .map(|(name, expr)| Ok((name.clone(), self.eval(expr)?)))
            .collect::<Result<Vec<_>>>()?;
        Scope::new(
            self.parsed,
            file,
            params,
            resource_group,
            format!("{}/{module}", self.path),
        )
    }

    fn output(&self, name: &str) -> Result<Value> {
        match self.declaration("outputs", name) {
            Some(output) => {
                let value = self.eval(&output["value"])?;
                check_type(
                    &self.file,
                    &format!("output {name}"),
                    &output["type"],
                    &value,
                )?;
                Ok(value)
            }
            None => self.fail(format!("no output {name}")),
        }
    }

    fn outputs(&self) -> Result<BTreeMap<String, Value>> {
        object_or_empty(&self.template["outputs"])
            .keys()
            .map(|name| Ok((name.clone(), self.output(name)?)))
            .collect()
    }

    fn collect_resources(&self, out: &mut Vec<DeployedResource>) -> Result<()> {
        for (symbol, declaration) in object_or_empty(&self.template["resources"]) {
            let (condition, config) = Self::conditional_config(declaration);
            if declaration["existing"] == Value::Bool(true) || !self.is_deployed(condition)? {
                continue;
            }
            let mut evaluated = Map::new();
            for (key, value) in object_or_empty(config) {
                if !RELATION_KEYS.contains(&key.as_str()) {
                    evaluated.insert(key.clone(), self.eval(value)?);
                }
            }
            let scope_id = match config.get("scope").and_then(|s| s["$ref"].as_str()) {
                Some(scope) => Some(self.resource_id(scope)?),
                None => None,
            };
            out.push(DeployedResource {
                file: self.file.clone(),
                module_path: self.path.clone(),
                symbol: symbol.clone(),
                type_: self.resource_type(symbol)?.to_owned(),
                name: self.resource_name(symbol)?,
                id: self.resource_id(symbol)?,
                config: Value::Object(evaluated),
                scope_id,
            });
        }
        for (module, declaration) in object_or_empty(&self.template["modules"]) {
            let (condition, _) = Self::conditional_config(declaration);
            if self.is_deployed(condition)? {
                self.module_scope(module)?.collect_resources(out)?;
            }
        }
        Ok(())
    }
}

fn single<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    (map.len() == 1).then(|| map.get(key)).flatten()
}

fn object_or_empty(value: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    value
        .as_object()
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// The values of `first` and then `prefix1`, `prefix2`, … in numeric order (pycep-parser names
/// variadic arguments `arg_1`, `extra_string_1`, …).
fn numbered<'a>(parameters: &'a Map<String, Value>, keys: &[&str]) -> Vec<&'a Value> {
    let mut found: Vec<(usize, usize, &Value)> = Vec::new();
    for (key, value) in parameters {
        if value.is_null() {
            continue;
        }
        for (rank, pattern) in keys.iter().enumerate() {
            if let Some(n) = key.strip_prefix(pattern) {
                if pattern.ends_with('_') {
                    if let Ok(n) = n.parse::<usize>() {
                        found.push((rank, n, value));
                    }
                } else if n.is_empty() {
                    found.push((rank, 0, value));
                }
            }
        }
    }
    found.sort_by_key(|(rank, n, _)| (*rank, *n));
    found.into_iter().map(|(_, _, v)| v).collect()
}

/// `relative` (a module path) against the directory of `from`.
fn resolve(from: &str, relative: &str) -> String {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for segment in relative.split('/') {
        match segment {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

fn check_type(file: &str, what: &str, declared: &Value, value: &Value) -> Result<()> {
    let ok = match declared.as_str() {
        Some("string") => value.is_string(),
        Some("int") => value.is_i64(),
        Some("bool") => value.is_boolean(),
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{file}: {what} is declared {declared} but is {value}"
        ))
    }
}

/// Applies `@allowed`, `@minValue`, `@maxValue`, `@minLength`, `@maxLength` and the type, as ARM
/// does when a deployment starts.
fn check_parameter(file: &str, name: &str, declaration: &Value, value: &Value) -> Result<()> {
    check_type(
        file,
        &format!("parameter {name}"),
        &declaration["type"],
        value,
    )?;
    let refuse = |why: String| Err(format!("{file}: parameter {name}={value} {why}"));
    for decorator in declaration["decorators"].as_array().into_iter().flatten() {
        let argument = &decorator["argument"];
        let length = match value {
            Value::String(s) => Some(s.chars().count() as i64),
            Value::Array(a) => Some(a.len() as i64),
            _ => None,
        };
        match decorator["type"].as_str() {
            Some("allowed") if !argument.as_array().is_some_and(|a| a.contains(value)) => {
                return refuse(format!("is not one of {argument}"));
            }
            Some("min_value") if value.as_i64() < argument.as_i64() => {
                return refuse(format!("is below {argument}"));
            }
            Some("max_value") if value.as_i64() > argument.as_i64() => {
                return refuse(format!("is above {argument}"));
            }
            Some("min_length") if length < argument.as_i64() => {
                return refuse(format!("is shorter than {argument}"));
            }
            Some("max_length") if length > argument.as_i64() => {
                return refuse(format!("is longer than {argument}"));
            }
            _ => {}
        }
    }
    Ok(())
}
