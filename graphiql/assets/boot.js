// Mounts GraphiQL on the page's #graphiql element. It is a file, not an inline
// script, so that the page's Content-Security-Policy can allow scripts from
// its own origin only; the page hands over its settings as data- attributes.
(function () {
  'use strict';

  var root = document.getElementById('graphiql');
  var endpoint = root.dataset.endpoint;
  // Subscriptions use graphql-transport-ws on the same path, over wss: when
  // the page came over https:, and on whatever host and port served the page.
  var scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';

  // The Headers tab's credential goes with every HTTP request, and into
  // connection_init for subscriptions (browsers cannot set headers on a
  // websocket): one websocket fetcher per set of headers, made when first
  // needed.
  var fetchers = {};
  var fetcher = function (params, opts) {
    var headers = (opts && opts.headers) || {};
    var key = JSON.stringify(headers);
    if (!fetchers[key]) {
      fetchers[key] = GraphiQL.createFetcher({
        url: endpoint,
        subscriptionUrl: scheme + '//' + location.host + endpoint,
        wsConnectionParams: headers,
      });
    }
    return fetchers[key](params, opts);
  };

  // Open with the documentation explorer showing the schema. GraphiQL 4's
  // visiblePlugin prop cannot do it: the plugin pane's hidden state is fixed
  // when GraphiQL mounts, before the prop takes effect, so the docs would be
  // marked open yet not shown. Press the sidebar's button instead, as a
  // person would, as soon as GraphiQL has drawn it.
  var showDocs = '.graphiql-sidebar button[aria-label="Show Documentation Explorer"]';
  var observer = new MutationObserver(function () {
    var button = root.querySelector(showDocs);
    if (button) {
      observer.disconnect();
      button.click();
    }
  });
  observer.observe(root, { childList: true, subtree: true });

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: root.dataset.defaultQuery || undefined,
    })
  );
})();
