/*
 * belvo-emulator's Connect Widget: a stand-in for https://cdn.belvo.io/belvo-widget-1-stable.js.
 * window.belvoSDK.createWidget(access_token, config).build() renders a small real widget
 * (institution picker, credentials, MFA, Belvo's error messages) into #belvo, creates the link
 * through the emulator's token-authenticated /_widget/api/ endpoints, and calls config.callback,
 * onExit and onEvent with Belvo's argument shapes. No dependencies; runs in any modern browser.
 */
(function () {
  "use strict";

  var script = document.currentScript ||
    document.querySelector('script[src*="belvo-widget-1-stable.js"]');
  var ORIGIN = script && script.src ? new URL(script.src, location.href).origin : location.origin;

  var TEXT = {
    es: {
      title: "Conecta tu cuenta", pick: "Selecciona tu institución", search: "Buscar",
      username: "Usuario", password: "Contraseña", cont: "Continuar", connecting: "Conectando…",
      mfa: "Ingresa el código de verificación", token: "Código", success: "¡Tu cuenta fue conectada!",
      done: "Listo", exit: "Salir", back: "Atrás", update: "Actualiza tus credenciales",
      invalid_token: "Token inválido", noresults: "No hay instituciones disponibles",
      consent: "usa Belvo para conectar tu cuenta"
    },
    en: {
      title: "Connect your account", pick: "Select your institution", search: "Search",
      username: "Username", password: "Password", cont: "Continue", connecting: "Connecting…",
      mfa: "Enter the verification code", token: "Code", success: "Your account is connected!",
      done: "Done", exit: "Exit", back: "Back", update: "Update your credentials",
      invalid_token: "Invalid token", noresults: "No institutions available",
      consent: "uses Belvo to connect your account"
    },
    pt: {
      title: "Conecte sua conta", pick: "Selecione sua instituição", search: "Buscar",
      username: "Usuário", password: "Senha", cont: "Continuar", connecting: "Conectando…",
      mfa: "Digite o código de verificação", token: "Código", success: "Sua conta foi conectada!",
      done: "Pronto", exit: "Sair", back: "Voltar", update: "Atualize suas credenciais",
      invalid_token: "Token inválido", noresults: "Nenhuma instituição disponível",
      consent: "usa a Belvo para conectar sua conta"
    }
  };

  /* Titles the real widget shows for API errors (Belvo's errors article). */
  var ERROR_TITLES = {
    es: {
      login_error: "Credenciales inválidas", institution_down: "Algo salió mal",
      session_expired: "¡Por favor intenta de nuevo!", too_many_sessions: "Ya hay una sesión abierta",
      token_required: "Token inválido", unexpected_error: "Algo salió mal",
      ACCESS_TOKEN_NOT_VALID: "Token de acceso inválido", duplicated: "Esta cuenta ya está conectada"
    },
    en: {
      login_error: "Invalid credentials", institution_down: "Something went wrong",
      session_expired: "Please try again!", too_many_sessions: "A session is already open",
      token_required: "Invalid token", unexpected_error: "Something went wrong",
      ACCESS_TOKEN_NOT_VALID: "Invalid access token", duplicated: "This account is already connected"
    },
    pt: {
      login_error: "Credenciais inválidas", institution_down: "Algo deu errado",
      session_expired: "Por favor, tente novamente!", too_many_sessions: "Já existe uma sessão aberta",
      token_required: "Token inválido", unexpected_error: "Algo deu errado",
      ACCESS_TOKEN_NOT_VALID: "Token de acesso inválido", duplicated: "Esta conta já está conectada"
    }
  };

  var CSS = [
    ".belvo-emu-overlay{position:fixed;inset:0;background:rgba(15,23,42,.55);display:flex;align-items:center;justify-content:center;z-index:2147483000;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif}",
    ".belvo-emu{background:#fff;color:#0f172a;width:380px;max-width:94vw;max-height:92vh;overflow:auto;border-radius:14px;box-shadow:0 20px 50px rgba(0,0,0,.3);padding:20px 22px}",
    ".belvo-emu header{display:flex;justify-content:space-between;align-items:center;margin-bottom:12px}",
    ".belvo-emu h2{font-size:18px;margin:0}",
    ".belvo-emu .belvo-sub{color:#475569;font-size:13px;margin:0 0 12px}",
    ".belvo-emu button{font:inherit;cursor:pointer}",
    ".belvo-emu .belvo-close{border:0;background:none;font-size:22px;line-height:1;color:#64748b}",
    ".belvo-emu .belvo-inst{display:flex;align-items:center;gap:10px;width:100%;text-align:left;border:1px solid #e2e8f0;background:#fff;border-radius:10px;padding:10px 12px;margin:6px 0}",
    ".belvo-emu .belvo-inst:hover{border-color:#0663f9}",
    ".belvo-emu .belvo-dot{width:14px;height:14px;border-radius:50%;flex:none}",
    ".belvo-emu label{display:block;font-size:13px;color:#334155;margin:10px 0 4px}",
    ".belvo-emu input{width:100%;box-sizing:border-box;border:1px solid #cbd5e1;border-radius:8px;padding:9px 10px;font:inherit}",
    ".belvo-emu .belvo-primary{width:100%;margin-top:16px;border:0;border-radius:10px;background:#0663f9;color:#fff;padding:11px}",
    ".belvo-emu .belvo-primary[disabled]{opacity:.6}",
    ".belvo-emu .belvo-link{border:0;background:none;color:#0663f9;padding:8px 0}",
    ".belvo-emu .belvo-error{background:#fef2f2;border:1px solid #fecaca;color:#991b1b;border-radius:8px;padding:8px 10px;margin-top:12px;font-size:13px}",
    ".belvo-emu .belvo-error strong{display:block}",
    ".belvo-emu .belvo-ok{font-size:44px;text-align:center;color:#16a34a}"
  ].join("\n");

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k.indexOf("on") === 0) e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }

  function list(v) {
    if (!v) return null;
    if (Array.isArray(v)) return v.join(",");
    return String(v);
  }

  function Widget(accessToken, config) {
    this.token = accessToken;
    this.config = config || {};
    this.locale = TEXT[this.config.locale] ? this.config.locale : "es";
    this.t = TEXT[this.locale];
    this.page = null;
    this.institution = null;
    this.lastError = null;
    this.session = null;
    this.root = null;
  }

  Widget.prototype.call = function (method, path, body) {
    var opts = { method: method, headers: { "Authorization": "Bearer " + this.token } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(ORIGIN + "/_widget/api/" + path, opts).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { status: r.status, data: data };
      });
    });
  };

  Widget.prototype.emit = function (payload) {
    if (typeof this.config.onEvent === "function") {
      try { this.config.onEvent(payload); } catch (e) { /* the page's handler */ }
    }
  };

  Widget.prototype.go = function (page, render) {
    var from = this.page;
    this.page = page;
    this.root.setAttribute("data-belvo-page", page);
    this.body.innerHTML = "";
    render.call(this);
    this.emit({ eventName: "PAGE_LOAD", metadata: {
      page: "/" + page, from: from ? "/" + from : "", institution_name: this.institution ? this.institution.name : ""
    } });
  };

  Widget.prototype.error = function (err, container) {
    var code = (err && err.code) || "unexpected_error";
    var message = (err && err.message) || "";
    this.lastError = { code: code, message: message };
    this.emit({ eventName: "ERROR", request_id: (err && err.request_id) || null, meta_data: {
      error_code: code, error_message: message,
      institution_name: this.institution ? this.institution.name : "",
      timestamp: new Date().toISOString()
    } });
    var titles = ERROR_TITLES[this.locale];
    var box = el("div", { "class": "belvo-error", role: "alert", "data-belvo-error": code }, [
      el("strong", { text: titles[code] || titles.unexpected_error }),
      el("span", { text: message })
    ]);
    (container || this.body).appendChild(box);
  };

  Widget.prototype.build = function () {
    var self = this;
    if (!document.getElementById("belvo-emu-style")) {
      document.head.appendChild(el("style", { id: "belvo-emu-style", text: CSS }));
    }
    var host = document.getElementById("belvo");
    if (!host) {
      host = el("div", { id: "belvo" });
      document.body.appendChild(host);
    }
    this.host = host;
    this.body = el("div", { "class": "belvo-body" });
    this.heading = el("h2", { text: this.t.title });
    this.root = el("div", { "class": "belvo-emu", "data-belvo-widget": "emulator" }, [
      el("header", {}, [
        this.heading,
        el("button", { "class": "belvo-close", "aria-label": this.t.exit, "data-belvo-action": "exit",
          onclick: function () { self.exit(); } }, [document.createTextNode("×")])
      ]),
      this.body
    ]);
    this.overlay = el("div", { "class": "belvo-emu-overlay" }, [this.root]);
    host.appendChild(this.overlay);
    this.go("loading", function () { this.body.appendChild(el("p", { text: this.t.connecting })); });
    this.call("GET", "session").then(function (r) {
      if (r.status !== 200) {
        var err = (r.data && r.data[0]) || { code: "ACCESS_TOKEN_NOT_VALID" };
        self.sessionInfo = err;
        self.go("error", function () { this.error(err); });
        if (typeof self.config.onError === "function") self.config.onError(err);
        return;
      }
      self.sessionInfo = r.data;
      var branding = r.data.branding || {};
      if (branding.company_name) {
        self.body.parentNode.insertBefore(
          el("p", { "class": "belvo-sub", text: branding.company_name + " " + self.t.consent }), self.body);
      }
      if (r.data.mode === "update" && r.data.link) {
        self.updateLink = r.data.link;
        self.heading.textContent = self.t.update;
        return self.loadInstitutions({ institutions: r.data.link.institution }).then(function (items) {
          self.institution = items[0] || { name: r.data.link.institution, display_name: r.data.link.institution, form_fields: [] };
          self.login();
        });
      }
      return self.loadInstitutions({}).then(function (items) {
        if (items.length === 1) {
          self.institution = items[0];
          self.login();
        } else {
          self.pick(items);
        }
      });
    }).catch(function (e) {
      self.go("error", function () { this.error({ code: "unexpected_error", message: String(e) }); });
    });
    return this;
  };

  Widget.prototype.loadInstitutions = function (extra) {
    var c = this.config;
    var q = [];
    var add = function (k, v) { if (v) q.push(k + "=" + encodeURIComponent(v)); };
    add("country_codes", list(c.country_codes));
    add("institutions", extra.institutions || list(c.institutions));
    add("institution_types", list(c.institution_types));
    var resources = c.resources ? (Array.isArray(c.resources) ? c.resources : String(c.resources).split(",")) : null;
    return this.call("GET", "institutions" + (q.length ? "?" + q.join("&") : "")).then(function (r) {
      var items = (r.data && r.data.results) || [];
      if (resources) {
        items = items.filter(function (i) {
          return resources.every(function (res) { return i.resources.indexOf(res) >= 0; });
        });
      } else if (!c.institution_types) {
        /* Belvo hides employment institutions unless asked for. */
        items = items.filter(function (i) { return i.type !== "employment" || extra.institutions; });
      }
      return items;
    });
  };

  Widget.prototype.pick = function (items) {
    var self = this;
    this.institution = null;
    this.go("institutions", function () {
      this.body.appendChild(el("p", { "class": "belvo-sub", text: this.t.pick }));
      if (!items.length) this.body.appendChild(el("p", { text: this.t.noresults }));
      items.forEach(function (inst) {
        self.body.appendChild(el("button", {
          "class": "belvo-inst", type: "button", "data-institution": inst.name,
          onclick: function () { self.institution = inst; self.login(); }
        }, [el("span", { "class": "belvo-dot", style: "background:" + (inst.primary_color || "#0663f9") }),
            el("span", { text: inst.display_name })]));
      });
    });
    this.items = items;
  };

  Widget.prototype.login = function () {
    var self = this;
    var inst = this.institution;
    this.go("login", function () {
      var fields = (inst.form_fields || []).filter(function (f) {
        return !(self.updateLink && f.name === "username");
      });
      if (!fields.length) fields = [{ name: "password", type: "password", label: self.t.password }];
      var inputs = {};
      var form = el("form", { "data-belvo-form": "login" });
      form.appendChild(el("p", { "class": "belvo-sub", text: inst.display_name }));
      fields.forEach(function (f) {
        var id = "belvo-field-" + f.name;
        var label = f.name === "username" ? (f.label || self.t.username) : f.name === "password" ? self.t.password : f.label;
        form.appendChild(el("label", { "for": id, text: label }));
        var input = el("input", { id: id, name: f.name, type: f.type === "password" ? "password" : "text",
          placeholder: f.placeholder || "", autocomplete: "off" });
        inputs[f.name] = input;
        form.appendChild(input);
      });
      var submit = el("button", { "class": "belvo-primary", type: "submit", "data-belvo-action": "submit" },
        [document.createTextNode(self.t.cont)]);
      form.appendChild(submit);
      var errors = el("div", {});
      form.appendChild(errors);
      if (self.items && self.items.length > 1) {
        form.appendChild(el("button", { "class": "belvo-link", type: "button", onclick: function () { self.pick(self.items); } },
          [document.createTextNode(self.t.back)]));
      }
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        errors.innerHTML = "";
        submit.disabled = true;
        submit.textContent = self.t.connecting;
        var body = {};
        Object.keys(inputs).forEach(function (k) { body[k] = inputs[k].value; });
        var request;
        if (self.updateLink) {
          request = self.call("PUT", "links/" + self.updateLink.id, body);
        } else {
          body.institution = inst.name;
          if (self.config.access_mode) body.access_mode = self.config.access_mode;
          if (self.config.external_id) body.external_id = self.config.external_id;
          request = self.call("POST", "links", body);
        }
        request.then(function (r) {
          submit.disabled = false;
          submit.textContent = self.t.cont;
          self.handle(r, errors);
        });
      });
      this.body.appendChild(form);
      var first = form.querySelector("input");
      if (first) first.focus();
    });
  };

  Widget.prototype.handle = function (r, errors) {
    if (r.status === 200 || r.status === 201) return this.success(r.data);
    var err = (r.data && r.data[0]) || { code: "unexpected_error", message: "" };
    if (r.status === 428 && err.code === "token_required" && this.page !== "mfa") {
      return this.mfa(err);
    }
    this.error(err, errors);
  };

  Widget.prototype.mfa = function (err) {
    var self = this;
    this.session = err;
    this.go("mfa", function () {
      var form = el("form", { "data-belvo-form": "mfa" });
      var gen = err.token_generation_data || {};
      form.appendChild(el("p", { "class": "belvo-sub", text: self.t.mfa }));
      if (gen.instructions) form.appendChild(el("p", { "class": "belvo-sub", text: gen.instructions }));
      if (gen.value) form.appendChild(el("p", { "data-belvo-token-value": "", text: gen.value }));
      form.appendChild(el("label", { "for": "belvo-field-token", text: self.t.token }));
      var input = el("input", { id: "belvo-field-token", name: "token", inputmode: "numeric", autocomplete: "one-time-code" });
      form.appendChild(input);
      var submit = el("button", { "class": "belvo-primary", type: "submit", "data-belvo-action": "submit" },
        [document.createTextNode(self.t.cont)]);
      form.appendChild(submit);
      var errors = el("div", {});
      form.appendChild(errors);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        errors.innerHTML = "";
        submit.disabled = true;
        self.call("PATCH", "links", { session: self.session.session, token: input.value, link: self.session.link })
          .then(function (r) {
            submit.disabled = false;
            self.handle(r, errors);
          });
      });
      this.body.appendChild(form);
      input.focus();
    });
  };

  Widget.prototype.success = function (link) {
    var self = this;
    this.lastError = null;
    var institution = this.institution ? this.institution.name : link.institution;
    this.go("success", function () {
      this.body.appendChild(el("div", { "class": "belvo-ok", text: "✓" }));
      this.body.appendChild(el("p", { "data-belvo-success": link.id, text: this.t.success }));
      this.body.appendChild(el("button", { "class": "belvo-primary", type: "button", "data-belvo-action": "done",
        onclick: function () { self.destroy(); } }, [document.createTextNode(this.t.done)]));
    });
    if (typeof this.config.callback === "function") {
      try { this.config.callback(link.id, institution); } catch (e) { /* the page's handler */ }
    }
  };

  Widget.prototype.exit = function () {
    var data = { meta_data: {
      institution_name: this.institution ? this.institution.name : null,
      step: (this.page === "institutions" || this.page === "loading" || !this.institution) ? "abandon-survey" : this.page
    } };
    if (this.lastError) data.last_encountered_error = this.lastError;
    this.destroy();
    if (typeof this.config.onExit === "function") {
      try { this.config.onExit(data); } catch (e) { /* the page's handler */ }
    }
  };

  Widget.prototype.destroy = function () {
    if (this.overlay && this.overlay.parentNode) this.overlay.parentNode.removeChild(this.overlay);
  };

  window.belvoSDK = {
    createWidget: function (accessToken, config) {
      var w = new Widget(accessToken, config);
      return {
        build: function () { w.build(); return this; },
        destroy: function () { w.destroy(); },
        _widget: w
      };
    }
  };
})();
