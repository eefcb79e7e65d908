"use strict";
/*
 * Just enough of an AMD loader for xrm-mock's one-file browser build (xrm-mock/build/index.js:
 * named define() calls whose dependencies may be circular, as in its CommonJS build). Load this
 * script, then the build, then call amdRequire("xrm-mock"). A module met again while it is still
 * being defined gives its exports object as far as it is filled, as Node's require() does; the
 * modules only read each other's exports when called. `define` has no `amd` flag, so UMD bundles
 * such as msal-browser's still define their globals, and amdRequire() removes it once called.
 */
(function () {
  var factories = {};
  var modules = {};

  function load(name) {
    if (modules[name]) {
      return modules[name].exports;
    }
    var definition = factories[name];
    if (!definition) {
      throw new Error("AMD module " + name + " was not defined (load xrm-mock/build/index.js first)");
    }
    var module = (modules[name] = { exports: {} });
    var args = definition.dependencies.map(function (dependency) {
      if (dependency === "require") {
        return load;
      }
      if (dependency === "exports") {
        return module.exports;
      }
      return dependency === "module" ? module : load(dependency);
    });
    var result = definition.factory.apply(null, args);
    if (result !== undefined) {
      module.exports = result;
    }
    return module.exports;
  }

  globalThis.define = function (name, dependencies, factory) {
    factories[name] = { dependencies: dependencies, factory: factory };
  };
  globalThis.amdRequire = function (name) {
    delete globalThis.define;
    return load(name);
  };
})();
